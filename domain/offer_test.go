package domain

import (
	"strings"
	"testing"
	"time"
)

func TestOrdersToOffer(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	mk := func(number string, st ShipmentStatus, promisedDays int) *Order {
		return &Order{Number: number, Address: Address{TZ: time.UTC},
			Shipment: Shipment{Status: st, Promised: now.AddDate(0, 0, promisedDays)}}
	}
	numbers := func(os []*Order) string {
		var s []string
		for _, o := range os {
			s = append(s, o.Number)
		}
		return strings.Join(s, " ")
	}
	withPassword := func(o *Order, day int) *Order {
		o.Shipment.Password = &DeliveryPassword{Code: "1234", Day: now.AddDate(0, 0, day)}
		return o
	}
	// newest first, as a shop lists them: the late one, the exception and
	// the parcel on the van with a password are the oldest
	orders := []*Order{
		mk("a-transit", InTransit, 2),
		mk("b-delivered", Delivered, -3),
		mk("c-delivered", Delivered, -4),
		mk("d-today", OutForDelivery, 0),
		mk("e-transit", InTransit, 3),
		mk("f-returned", Returned, -20),
		mk("g-late", InTransit, -2),
		mk("h-exception", Exception, 1),
		withPassword(mk("i-van-password", OutForDelivery, 0), 0),
	}
	tests := []struct {
		name    string
		orders  []*Order
		concern OrderConcern
		max     int
		want    string
	}{
		{"any: the newest", orders, ConcernAny, 5, "a-transit b-delivered c-delivered d-today e-transit"},
		{"on its way, none late among the newest: the late and the exception are offered, delivered ones make room",
			orders, ConcernOnItsWay, 5, "a-transit d-today e-transit g-late h-exception"},
		{"on its way, fewer places: the late first", orders, ConcernOnItsWay, 2, "g-late h-exception"},
		{"on its way, a late one among the newest: the newest, as given",
			append([]*Order{mk("z-late", InTransit, -1)}, orders...), ConcernOnItsWay, 5,
			"z-late a-transit b-delivered c-delivered d-today"},
		{"password: the one valid today is offered", orders, ConcernPassword, 3, "a-transit d-today i-van-password"},
		{"arrived: delivered ones are among the newest", orders, ConcernArrived, 3, "a-transit b-delivered c-delivered"},
		{"arrived, the delivered one further back", []*Order{orders[0], orders[3], orders[4], orders[1]}, ConcernArrived, 2,
			"a-transit b-delivered"},
		{"arrived, none delivered: the newest", orders[3:], ConcernArrived, 2, "d-today e-transit"},
		{"never came: a delivered one is among the newest", orders, ConcernNeverCame, 2, "a-transit b-delivered"},
		{"never came, none among the newest: delivered and late before the rest",
			orders[3:], ConcernNeverCame, 3, "d-today g-late h-exception"},
		{"all fit in: all, as given", orders, ConcernOnItsWay, 9, numbers(orders)},
		{"none", orders, ConcernOnItsWay, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := numbers(OrdersToOffer(tc.orders, tc.concern, now, tc.max)); got != tc.want {
				t.Errorf("OrdersToOffer = %q, want %q", got, tc.want)
			}
		})
	}
}

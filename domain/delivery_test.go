package domain_test

import (
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/domain"
)

func TestChangeFor(t *testing.T) {
	tests := []struct {
		status domain.ShipmentStatus
		want   domain.ChangeKind
	}{
		{domain.LabelCreated, domain.ChangeAddress},
		{domain.InTransit, domain.ChangeDay},
		{domain.OutForDelivery, domain.ChangeDay},
		{domain.Exception, domain.ChangeDay},
		{domain.Delivered, domain.ChangeNone},
		{domain.Returned, domain.ChangeNone},
	}
	for _, tc := range tests {
		o := &domain.Order{Shipment: domain.Shipment{Status: tc.status}}
		if got := domain.ChangeFor(o); got != tc.want {
			t.Errorf("ChangeFor(%s) = %s, want %s", tc.status, got, tc.want)
		}
	}
}

func TestRedeliveryDaysSkipSundaysInTheAddressZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	o := &domain.Order{Address: domain.Address{TZ: berlin}}
	// Friday 23:30 UTC is already Saturday in Berlin: tomorrow is Sunday, skipped
	now := time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC)
	got := domain.RedeliveryDays(o, now, 3)
	want := []string{"2026-11-30", "2026-12-01", "2026-12-02"}
	for i, d := range got {
		if d.Format("2006-01-02") != want[i] || d.Location() != berlin {
			t.Fatalf("days %v, want %v in Berlin", got, want)
		}
	}
}

func TestValidDeliveryAddress(t *testing.T) {
	for s, want := range map[string]bool{
		"Musterstraße 5, 10115 Berlin":   true,
		"12 Rue de la Paix, 75002 Paris": true,
		"Berlin":                         false,
		"somewhere nice please":          false,
		"5":                              false,
	} {
		if got := domain.ValidDeliveryAddress(s); got != want {
			t.Errorf("ValidDeliveryAddress(%q) = %v, want %v", s, got, want)
		}
	}
}

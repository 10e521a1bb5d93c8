package telegram

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/parcelbot/parcelbot/dialog"
)

// BenchmarkSend is one reply with two buttons through the channel to a
// local fake Bot API (no rate limit in the way): building the request,
// the HTTP round trip on a kept-alive connection, reading the answer.
func BenchmarkSend(b *testing.B) {
	c, _ := newTestChannel(b, 1e9, time.Nanosecond)
	replies := []dialog.Reply{{Text: "Order 302-1004444-4031108: on its way, expected Thursday 26 November.",
		Buttons: []dialog.Button{{Label: "🔁 Get a replacement", Data: "1:0"}, {Label: "↩ Main menu", Data: "1:1"}}}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := c.Send(context.Background(), strconv.Itoa(i%1000+1), "en", replies); err != nil {
			b.Fatal(err)
		}
	}
}

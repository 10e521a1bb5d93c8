package redis

import (
	"context"
	"testing"
)

func TestTelegramSpool(t *testing.T) {
	mr, rdb := miniClient(t)
	s := NewTelegramSpool(rdb, "pb:")
	ctx := context.Background()
	for id, raw := range map[int64]string{7: `{"update_id":7}`, 8: `{"update_id":8}`} {
		if err := s.Put(ctx, id, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Done(ctx, 7); err != nil {
		t.Fatal(err)
	}
	p, err := s.Pending(ctx)
	if err != nil || len(p) != 1 || string(p[8]) != `{"update_id":8}` {
		t.Fatalf("pending %v, %v", p, err)
	}
	if err := s.DeadLetter(ctx, 9, 42, "Bad Request: chat not found (after 2 tries)"); err != nil {
		t.Fatal(err)
	}
	entries, err := mr.Stream("pb:tg:dead")
	if err != nil || len(entries) != 1 {
		t.Fatalf("dead letters %v, %v", entries, err)
	}
	got := map[string]string{}
	for i := 0; i+1 < len(entries[0].Values); i += 2 {
		got[entries[0].Values[i]] = entries[0].Values[i+1]
	}
	if got["update"] != "9" || got["chat"] != "42" || got["reason"] != "Bad Request: chat not found (after 2 tries)" || got["at"] == "" {
		t.Fatalf("dead letter %v", got)
	}
	mr.SetError("LOADING")
	if err := s.Put(ctx, 10, []byte("{}")); err == nil {
		t.Fatal("a failed write reported success")
	}
}

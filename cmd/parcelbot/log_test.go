package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/parcelbot/parcelbot/domain"
)

func TestLogsMaskPersonalDataAndSecrets(t *testing.T) {
	var buf bytes.Buffer
	a := &app{env: env{LogLevel: slog.LevelInfo}, stderr: &buf}
	log := a.jsonLogger()
	log.Info("case", "name", "Anna Schmidt", "email", "anna.schmidt@example.com", "phone", "+49 30 1234567",
		"street", "Invalidenstraße 117", "password", "482913", "link_token", "abc_def", "code", domain.Secret("731904"), "conv", "tg:1")
	out := buf.String()
	for _, leak := range []string{"Anna Schmidt", "schmidt@", "1234567", "Invalidenstraße", "482913", "abc_def", "731904"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line leaks %q: %s", leak, out)
		}
	}
	for _, kept := range []string{`"name":"A*** S***"`, `"email":"a***.s***@e***.c***"`, `"conv":"tg:1"`, `"code":"[redacted]"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log line lacks %s: %s", kept, out)
		}
	}
}

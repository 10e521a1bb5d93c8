package main

import (
	"os"

	"github.com/parcelbot/parcelbot/bot"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleConfigLoads(t *testing.T) {
	path := filepath.Join(repoRoot(t), "docs", "parcelbot.example.yaml")
	e, err := loadEnv(func(string) string { return "" }, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Bot.SupportHours) != 4 || e.Bot.Policy.AutoApproveLimit != 25000 || e.Bot.ShopName != "Parcel Shop" {
		t.Fatalf("example config: %+v", e.Bot)
	}
}

func TestConfigPrecedenceAndErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("shop:\n  name: File Shop\npolicy:\n  max_claims_12m: 4\nredis:\n  url: redis://:hunter2@db:6379/0\nlink_token_secret: s3cret-from-file\n"), 0o644)
	e, err := loadEnv(func(k string) string { return map[string]string{"MAX_CLAIMS_12M": "7"}[k] }, file)
	if err != nil {
		t.Fatal(err)
	}
	if e.Bot.ShopName != "File Shop" || e.Bot.Policy.MaxClaims12m != 7 {
		t.Fatalf("file then env: name %q, claims %d", e.Bot.ShopName, e.Bot.Policy.MaxClaims12m)
	}
	code, out, _ := runCmd(t, "", nil, "--config", file, "config")
	if code != 0 || strings.Contains(out, "hunter2") || strings.Contains(out, "s3cret") || !strings.Contains(out, "redis://[redacted]@db:6379/0") || !strings.Contains(out, `name: "File Shop"`) {
		t.Fatalf("parcelbot config:\n%s", out)
	}
	bad := []struct{ yaml, want string }{
		{"policy:\n  max_claims_12m: -1\n", "max_claims_12m"},
		{"policy:\n  auto_approve_limit: lots\n", "policy.auto_approve_limit"},
		{"shop:\n  order_format: \"---\"\n", "shop.order_format"},
		{"support_hours:\n  de: {hours: \"mon-fri 20:00-08:00\", tz: Europe/Berlin}\n", "support_hours.de"},
		{"support_hours:\n  es: {hours: \"24/7\", tz: Europe/Madrid}\n", "support_hours.es"},
		{"redis:\n  session_ttl: forever\n", "redis.session_ttl"},
		{"polcy:\n  x: 1\n", `unknown setting "polcy.x"`},
		{"telegram:\n  rate: 0\n", "telegram.rate (TELEGRAM_RATE)"},
	}
	for _, b := range bad {
		os.WriteFile(file, []byte(b.yaml), 0o644)
		code, _, errs := runCmd(t, "", nil, "--config", file, "validate")
		if code != 2 || !strings.Contains(errs, b.want) {
			t.Errorf("%q: exit %d, %q", b.yaml, code, errs)
		}
	}
}

// The settings table is the one declaration: the README's table, the
// example file and the defaults of the policy all come from it, so none can
// drift from what parcelbot reads.
func TestSettingsDocsAreGenerated(t *testing.T) {
	var table, example strings.Builder
	docsTable(&table)
	exampleFile(&example)
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), table.String()) {
		t.Error("README.md's configuration table is not `parcelbot config -docs`: regenerate it")
	}
	file, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "parcelbot.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != example.String() {
		t.Error("docs/parcelbot.example.yaml is not `parcelbot config -example`: regenerate it")
	}
	e, err := loadEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if def := bot.DefaultConfig(); e.Bot.Policy != def.Policy || e.Bot.ShopName != def.ShopName || e.Bot.OrderFormat != def.OrderFormat {
		t.Errorf("the settings' defaults differ from bot.DefaultConfig:\n%+v\n%+v", e.Bot.Policy, def.Policy)
	}
	// every setting is printed by `parcelbot config`
	var out strings.Builder
	e.print(&out)
	for _, s := range settings {
		_, leaf, _ := strings.Cut(s.key, ".")
		if leaf == "" {
			leaf = s.key
		}
		if !strings.Contains(out.String(), leaf+":") {
			t.Errorf("parcelbot config does not print %s", s.key)
		}
	}
}

func TestCgroupMemory(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]int64{"536870912\n": 536870912, "max\n": 0, "": 0} {
		p := filepath.Join(dir, "memory.max")
		os.WriteFile(p, []byte(content), 0o644)
		got, ok := cgroupMemory(p)
		if got != want || ok != (want > 0) {
			t.Errorf("%q: %d %v", content, got, ok)
		}
	}
	if _, ok := cgroupMemory(filepath.Join(dir, "none")); ok {
		t.Error("a missing file gave a limit")
	}
}

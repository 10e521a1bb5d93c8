package locales_test

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/parcelbot/parcelbot/dialog"
	"github.com/parcelbot/parcelbot/locales"
)

// TestSameKeysAndPlaceholders loads the shipped locales: LoadCatalog fails
// when any language lacks a key, has an extra one, or differs in placeholders.
func TestSameKeysAndPlaceholders(t *testing.T) {
	c, err := dialog.LoadCatalog(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys()) < 50 {
		t.Errorf("only %d keys: is a file truncated?", len(c.Keys()))
	}
}

// TestParityCheckCatches proves the check above can fail: a copy of the
// locales with one key dropped, one placeholder renamed and one key added.
func TestParityCheckCatches(t *testing.T) {
	read := func(lang string) string {
		b, err := locales.FS.ReadFile(lang + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name, lang, from, to, want string
	}{
		{"missing key", "de", "  due_today:", "  due_today_x:", "missing key track.due_today"},
		{"renamed placeholder", "fr", "Commande {order}", "Commande {numero}", "track.summary has placeholders [details numero status], en.yaml has [details order status]"},
		{"extra key", "it", "btn:\n", "btn:\n  extra: \"x\"\n", "btn.extra is not in en.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, l := range dialog.Languages {
				s := read(l)
				if l == tc.lang {
					if !strings.Contains(s, tc.from) {
						t.Fatalf("%s.yaml has no %q", l, tc.from)
					}
					s = strings.Replace(s, tc.from, tc.to, 1)
				}
				fsys[l+".yaml"] = &fstest.MapFile{Data: []byte(s)}
			}
			_, err := dialog.LoadCatalog(fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// A regional file may only override what its language has, with the same
// placeholders, and must be named <language>-<REGION>.yaml.
func TestVariantCheckCatches(t *testing.T) {
	cases := []struct{ name, file, body, want string }{
		{"unknown key", "de-CH.yaml", "menu:\n  nonsense: \"x\"\n", "menu.nonsense is not in de.yaml"},
		{"other placeholders", "en-US.yaml", "order:\n  limited: \"wait {hours}\"\n", "order.limited has placeholders [hours], en.yaml has [minutes]"},
		{"a list for a text", "fr-CH.yaml", "format:\n  date: [a, b]\n", "not the same kind of entry"},
		{"no such language", "es-MX.yaml", "format:\n  date: \"{day}\"\n", "a variant is <language>-<REGION>.yaml"},
		{"no CLDR data", "it-SM.yaml", "format:\n  date: \"{weekday} {day} {month}\"\n", "no CLDR data for it-SM"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{tc.file: &fstest.MapFile{Data: []byte(tc.body)}}
			for _, l := range dialog.Languages {
				b, err := locales.FS.ReadFile(l + ".yaml")
				if err != nil {
					t.Fatal(err)
				}
				fsys[l+".yaml"] = &fstest.MapFile{Data: b}
			}
			_, err := dialog.LoadCatalog(fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// The agents' texts (Slack) pass the same checks: every language has the
// same keys and placeholders.
func TestAgentTextsSameKeysAndPlaceholders(t *testing.T) {
	sub, err := fs.Sub(locales.AgentFS, "agent")
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialog.LoadCatalog(sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Keys()) < 40 {
		t.Errorf("only %d agent keys", len(c.Keys()))
	}
}

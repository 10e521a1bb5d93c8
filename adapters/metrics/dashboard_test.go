package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The Grafana dashboard in docs/ queries only metrics parcelbot exports,
// with labels they have: a renamed metric or label fails here, not on a
// support lead's screen.
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	m := New()
	m.Journey("track", "en", "started")
	m.Escalation("approval", "track", "en")
	m.Agent("first_reply", 1)
	m.Satisfaction("late", "en", 4)
	m.Proactive("delayed", "sent")
	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]map[string]bool{}
	for _, f := range families {
		name := f.GetName()
		set := map[string]bool{}
		for _, mm := range f.GetMetric() {
			for _, l := range mm.GetLabel() {
				set[l.GetName()] = true
			}
		}
		set["le"] = true
		labels[name] = set
		labels[name+"_bucket"] = set
	}
	metricRE := regexp.MustCompile(`parcelbot_[a-z_]+`)
	selRE := regexp.MustCompile(`(parcelbot_[a-z_]+)\{([^}]*)\}`)
	byRE := regexp.MustCompile(`by \(([^)]*)\)`)
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			n++
			for _, name := range metricRE.FindAllString(tg.Expr, -1) {
				if labels[name] == nil {
					t.Errorf("panel %q queries %s, which parcelbot does not export", p.Title, name)
				}
			}
			for _, sel := range selRE.FindAllStringSubmatch(tg.Expr, -1) {
				for _, cond := range strings.Split(sel[2], ",") {
					l := strings.TrimSpace(strings.FieldsFunc(cond, func(r rune) bool { return r == '=' || r == '!' || r == '~' })[0])
					if !labels[sel[1]][l] {
						t.Errorf("panel %q: %s has no label %q", p.Title, sel[1], l)
					}
				}
			}
			for _, by := range byRE.FindAllStringSubmatch(tg.Expr, -1) {
				for _, l := range strings.Split(by[1], ",") {
					l = strings.TrimSpace(l)
					found := false
					for _, name := range metricRE.FindAllString(tg.Expr, -1) {
						found = found || labels[name][l]
					}
					if !found {
						t.Errorf("panel %q groups by %q, which its metrics lack", p.Title, l)
					}
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d queries in the dashboard", n)
	}
}

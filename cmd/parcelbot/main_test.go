package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// repoRoot finds the module root from this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

func runCmd(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// TestConvoFiles runs every *.convo.txt in the repository, each as a subtest,
// through the same wiring as `parcelbot test`.
func TestConvoFiles(t *testing.T) {
	files, err := findConvos([]string{repoRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	perLang := map[string]int{}
	a := &app{env: mustEnv(t, nil), stdout: os.Stdout, stderr: os.Stderr}
	for _, f := range files {
		perLang[filepath.Base(filepath.Dir(f))]++
		rel, _ := filepath.Rel(repoRoot(t), f)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			if _, err := a.runConvoFile(context.Background(), f); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, l := range []string{"en", "de", "fr", "it"} {
		if perLang[l] == 0 {
			t.Errorf("no conversation tests in %s", l)
		}
	}
}

// TestConvoFilesOnRedisCluster runs every conversation test on a Redis
// Cluster (.ci/with-redis-cluster sets PARCELBOT_TEST_REDIS), each convo
// under its own key prefix: sessions, cases, grants and limits all work
// with keys spread over three masters.
func TestConvoFilesOnRedisCluster(t *testing.T) {
	_, rdb, prefix := testCluster(t, "convo")
	files, err := findConvos([]string{repoRoot(t)})
	if err != nil {
		t.Fatal(err)
	}
	e := mustEnv(t, nil)
	e.RedisPrefix = prefix
	a := &app{env: e, stdout: os.Stdout, stderr: os.Stderr, convoRedis: rdb}
	t.Run("all", func(t *testing.T) {
		for _, f := range files {
			rel, _ := filepath.Rel(repoRoot(t), f)
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				if _, err := a.runConvoFile(context.Background(), f); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// TestJourneysThroughShopAPI runs the English conversation tests with the
// shop API adapter against a fake implementing docs/shop-api.yaml on the
// same data: every journey works over HTTP as it does on the demo file.
func TestJourneysThroughShopAPI(t *testing.T) {
	files, err := findConvos([]string{filepath.Join(repoRoot(t), "dialog", "testdata", "convo", "en")})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{env: mustEnv(t, nil), stdout: os.Stdout, stderr: os.Stderr, viaShopAPI: true}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			if _, err := a.runConvoFile(context.Background(), f); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustEnv(t *testing.T, m map[string]string) env {
	t.Helper()
	e, err := loadEnv(func(k string) string { return m[k] })
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestBrokenConvoShowsReadableDiff(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "broken.convo.txt")
	os.WriteFile(f, []byte("Broken on purpose\n#begin\nLANG de\n\n#me\nhallo\n\n#bot\nGuten Abend, wie geht es?\n"), 0o644)
	code, out, _ := runCmd(t, "", nil, "test", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"FAIL " + f, f + ":8", "expected: Guten Abend, wie geht es?", "got:      Hallo! Ich bin der Paket-Assistent", "me: hallo", "0 passed, 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestTestCommandErrors(t *testing.T) {
	if code, _, _ := runCmd(t, "", nil, "test"); code != 2 {
		t.Errorf("no paths: exit %d, want 2", code)
	}
	if code, _, _ := runCmd(t, "", nil, "test", t.TempDir()); code != 2 {
		t.Errorf("empty dir: exit %d, want 2", code)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.convo.txt"), []byte("name\n#me\nBUTTON\n"), 0o644)
	code, out, _ := runCmd(t, "", nil, "test", dir)
	if code != 1 || !strings.Contains(out, "bad.convo.txt:3: BUTTON needs a label") {
		t.Errorf("malformed convo: exit %d\n%s", code, out)
	}
}

func TestValidate(t *testing.T) {
	code, out, errs := runCmd(t, "", nil, "validate")
	if code != 0 || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
	// a CX team's broken copy of the flows
	dir := t.TempDir()
	root := repoRoot(t)
	entries, _ := os.ReadDir(filepath.Join(root, "dialog", "flows"))
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(root, "dialog", "flows", e.Name()))
		if e.Name() == "track.yaml" {
			b = bytes.Replace(b, []byte("action: track_order"), []byte("action: track_ordr"), 1)
		}
		os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
	}
	code, _, errs = runCmd(t, "", nil, "validate", "--flows", dir)
	if code != 1 || !strings.Contains(errs, "track.yaml:") || !strings.Contains(errs, `unknown action "track_ordr"`) {
		t.Fatalf("broken flow: exit %d\n%s", code, errs)
	}
	// and a broken data file
	data := filepath.Join(dir, "data.yaml")
	os.WriteFile(data, []byte("orders:\n  - number: 1\n    customer: nobody\n"), 0o644)
	code, _, errs = runCmd(t, "", map[string]string{"PARCELBOT_DATA": data}, "validate")
	if code != 1 || !strings.Contains(errs, "data.yaml:3: orders[0].customer: unknown customer") {
		t.Fatalf("broken data: exit %d\n%s", code, errs)
	}
}

func TestChatPipedGerman(t *testing.T) {
	code, out, errs := runCmd(t, "hallo\nwo ist mein paket 302-1001111-4007777\n10115\n", nil, "chat", "--lang", "de")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"> hallo", "Wobei kann ich helfen?", "[1] 📦 Wo ist mein Paket?", "Postleitzahl", "Bestellung 302-1001111-4007777: unterwegs."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestChatButtonsByNumberAndLabel(t *testing.T) {
	code, out, _ := runCmd(t, "hello\n9\ndeutsch\n", nil, "chat", "--customer", "C-1010")
	if code != 0 || !strings.Contains(out, "Which language") || !strings.Contains(out, "ab jetzt schreibe ich auf Deutsch") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if code, _, errs := runCmd(t, "", nil, "chat", "--customer", "C-9999"); code != 2 || !strings.Contains(errs, "no such customer") {
		t.Fatalf("unknown customer: exit %d %s", code, errs)
	}
}

func TestChatHandsOffToConsoleDesk(t *testing.T) {
	_, out, _ := runCmd(t, "/human\n", nil, "chat", "--lang", "it")
	if !strings.Contains(out, "to the agent desk") || !strings.Contains(out, "pratica PB-") {
		t.Fatalf("no escalation shown:\n%s", out)
	}
}

func TestIntentCommand(t *testing.T) {
	in := "wo bleibt mein paket\nmein Paket wurde gestohlen\nich will einen Menschen\nxyzzy\n"
	code, out, _ := runCmd(t, in, nil, "intent", "--lang", "de")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 4 {
		t.Fatalf("exit %d, got %q", code, out)
	}
	// intent first, then its confidence, one line per message
	for i, want := range []string{"track", "stolen", "human", "unknown"} {
		f := strings.Fields(lines[i])
		if len(f) != 2 || f[0] != want {
			t.Errorf("line %d: %q, want %s and a confidence", i+1, lines[i], want)
			continue
		}
		if c, err := strconv.ParseFloat(f[1], 64); err != nil || c <= 0 || c > 1 {
			t.Errorf("line %d: confidence %q", i+1, f[1])
		}
	}
	// --top 3: three intents, likeliest first
	code, out, _ = runCmd(t, "wo bleibt mein paket\n", nil, "intent", "--lang", "de", "--top", "3")
	f := strings.Fields(out)
	if code != 0 || len(f) != 6 || f[0] != "track" {
		t.Fatalf("--top 3: exit %d, got %q", code, out)
	}
	prev := 2.0
	for i := 1; i < 6; i += 2 {
		c, err := strconv.ParseFloat(f[i], 64)
		if err != nil || c > prev {
			t.Errorf("--top 3: confidences not in falling order: %q", out)
		}
		prev = c
	}
	if code, _, _ := runCmd(t, "", nil, "intent", "--lang", "xx"); code != 2 {
		t.Errorf("bad --lang: exit %d", code)
	}
}

func TestEnvErrorsNameTheVariable(t *testing.T) {
	for k, v := range map[string]string{"SESSION_TTL": "forever", "LOG_LEVEL": "loud", "MAX_CLAIMS_12M": "two", "LATE_REFUND_AFTER_DAYS": "0", "AUTO_APPROVE_LIMIT": "-3"} {
		code, _, errs := runCmd(t, "", map[string]string{k: v}, "validate")
		if code != 2 || !strings.Contains(errs, strings.ToLower(k)) && !strings.Contains(errs, k) {
			t.Errorf("%s=%s: exit %d, %q", k, v, code, errs)
		}
	}
	if code, _, _ := runCmd(t, "", nil, "frobnicate"); code != 2 {
		t.Error("unknown command accepted")
	}
}

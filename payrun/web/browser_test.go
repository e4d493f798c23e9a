//go:build payrun_browser

package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/payrun/payrun/sepa"
)

// TestBrowserFourEyes drives Debian's chromium through Feststellung,
// the refused second signature of the same person, Freigabe by another
// person, export and the pain.001 download.
func TestBrowserFourEyes(t *testing.T) {
	t.Parallel()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no chromium (make deps installs it)")
	}
	e := newEnv(t, 30)
	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	run := fmt.Sprintf("%s/runs/%d", e.srv.URL, e.runs["unna"])
	login := func(user string) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.Navigate(e.srv.URL + "/login"),
			chromedp.SetValue("#kommune", "unna", chromedp.ByID),
			chromedp.SetValue("#login", user, chromedp.ByID),
			chromedp.SetValue("#passwort", "demo-"+user, chromedp.ByID),
			chromedp.Click("#anmelden", chromedp.ByID),
			chromedp.WaitVisible("#aufgaben", chromedp.ByID),
		}
	}
	logout := chromedp.Tasks{chromedp.Click(`header button`, chromedp.ByQuery), chromedp.WaitVisible("#anmelden", chromedp.ByID)}
	artifacts := artifactDir(t)
	var listShot, detailShot []byte
	var msg, state string
	// The person with both roles establishes the run …
	must(t, chromedp.Run(ctx, login("doppelrolle"),
		chromedp.FullScreenshot(&listShot, 90),
		chromedp.Navigate(run), chromedp.WaitVisible("#feststellen", chromedp.ByID),
		chromedp.FullScreenshot(&detailShot, 90),
		chromedp.Click("#feststellen", chromedp.ByID), chromedp.WaitVisible("#bestaetigen", chromedp.ByID),
		chromedp.Click("#bestaetigen", chromedp.ByID), chromedp.WaitVisible("#meldung", chromedp.ByID),
		chromedp.Text("#status", &state, chromedp.ByID)))
	if state != "Festgestellt" {
		t.Fatalf("after Feststellung the state is %q", state)
	}
	// … and may not release it too.
	must(t, chromedp.Run(ctx, chromedp.Click("#freigeben", chromedp.ByID), chromedp.WaitVisible("#bestaetigen", chromedp.ByID),
		chromedp.Click("#bestaetigen", chromedp.ByID), chromedp.WaitVisible("#meldung", chromedp.ByID),
		chromedp.Text("#meldung", &msg, chromedp.ByID), chromedp.Text("#status", &state, chromedp.ByID), logout))
	if !strings.Contains(msg, "Die Freigabe muss eine andere Person erteilen als die Feststellung (Vier-Augen-Prinzip).") || state != "Festgestellt" {
		t.Fatalf("same person's release: message %q, state %q", msg, state)
	}
	// Another person releases it.
	must(t, chromedp.Run(ctx, login("anordner2"), chromedp.Navigate(run),
		chromedp.Click("#freigeben", chromedp.ByID), chromedp.WaitVisible("#bestaetigen", chromedp.ByID),
		chromedp.Click("#bestaetigen", chromedp.ByID), chromedp.WaitVisible("#meldung", chromedp.ByID),
		chromedp.Text("#status", &state, chromedp.ByID), logout))
	if state != "Freigegeben" {
		t.Fatalf("after Freigabe the state is %q", state)
	}
	// The cashier exports and downloads the pain.001 file.
	var href string
	var ok bool
	must(t, chromedp.Run(ctx, login("kasse"), chromedp.Navigate(run),
		chromedp.Click("#exportieren", chromedp.ByID), chromedp.WaitVisible("a.pain001", chromedp.ByQuery),
		chromedp.AttributeValue("a.pain001", "href", &href, &ok, chromedp.ByQuery),
		chromedp.Text("#status", &state, chromedp.ByID)))
	if state != "Exportiert" || !ok {
		t.Fatalf("after export: state %q, pain.001 link %v", state, ok)
	}
	var cookie string
	must(t, chromedp.Run(ctx, chromedp.Evaluate(`document.cookie`, &cookie))) // HttpOnly: must be empty
	if strings.Contains(cookie, "payrun_session") {
		t.Errorf("session cookie readable by scripts: %q", cookie)
	}
	pain := download(t, e, e.srv.URL+href, filepath.Join(artifacts, "pain001.xml"))
	f, err := os.Open(pain)
	must(t, err)
	defer f.Close()
	rep, err := sepa.Check(f)
	must(t, err)
	if !rep.OK() || rep.Transactions == 0 {
		t.Errorf("pain.001: %d transactions, problems %v", rep.Transactions, rep.Problems)
	}
	xsd := "/work/shared/xsd/pain.001.001.09.xsd"
	if _, err := os.Stat(xsd); err == nil {
		if out, err := exec.Command("xmllint", "--noout", "--schema", xsd, pain).CombinedOutput(); err != nil {
			t.Errorf("xmllint: %v\n%s", err, out)
		}
	}
	for name, b := range map[string][]byte{"zahllaeufe.jpg": listShot, "zahllauf.jpg": detailShot} {
		p := filepath.Join(artifacts, name)
		must(t, os.WriteFile(p, b, 0o644))
		t.Logf("screenshot: %s", p)
	}
}

// download fetches u as the cashier with a session of its own (the
// browser's session cookie is HttpOnly).
func download(t *testing.T, e *env, u, dst string) string {
	t.Helper()
	c := e.client(t)
	e.login(t, c, "unna", "kasse", "demo-kasse")
	res, err := c.Get(u)
	must(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download %s: status %d", u, res.StatusCode)
	}
	b, err := io.ReadAll(res.Body)
	must(t, err)
	must(t, os.WriteFile(dst, b, 0o644))
	t.Logf("pain.001: %s (%d bytes)", dst, len(b))
	return dst
}

// artifactDir is testdata-artifacts/ in the repository root.
func artifactDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata-artifacts", "web")
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}

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

// chromium is Debian's chromium; `make deps` (.ci/deps.sh chromium)
// installs it.
const chromium = "/usr/bin/chromium"

// TestBrowserFourEyes drives Debian's chromium (headless) through the
// Feststellung by a checker, the refused release by the same person, the
// Freigabe by another person, the export by the cashier and the pain.001
// download, which must pass sepa.Check and the XSD. It saves screenshots of
// the run list and the run detail to testdata-artifacts/web.
func TestBrowserFourEyes(t *testing.T) {
	t.Parallel()
	if os.Getenv("PAYRUN_SKIP_BROWSER") == "1" {
		t.Skip("PAYRUN_SKIP_BROWSER=1")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("browser test needs %s (install it with `.ci/deps.sh chromium` or `make deps`; set PAYRUN_SKIP_BROWSER=1 to skip): %v", chromium, err)
	}
	e := newEnv(t, 30)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 768),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first Run starts the browser; it lives as long as bctx, so the
	// time limit goes on a context derived after that.
	must(t, chromedp.Do(bctx, chromedp.EmulateViewport(1366, 768)))
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	run := fmt.Sprintf("%s/runs/%d", e.srv.URL, e.runs["unna"])
	login := func(user string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(e.srv.URL+"/login"),
			chromedp.SetValue(chromedp.ID("kommune"), "unna"),
			chromedp.SetValue(chromedp.ID("login"), user),
			chromedp.SetValue(chromedp.ID("passwort"), "demo-"+user),
			chromedp.Click(chromedp.ID("anmelden")),
			chromedp.WaitVisible(chromedp.ID("aufgaben")),
		)
	}
	logout := chromedp.Steps(chromedp.Click(chromedp.CSS(`header button`)), chromedp.WaitVisible(chromedp.ID("anmelden")))
	// confirm clicks the button that opens the confirmation page and then
	// "Jetzt …", and waits for the message on the run page.
	confirm := func(button string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Click(chromedp.ID(button)), chromedp.WaitVisible(chromedp.ID("bestaetigen")),
			chromedp.Click(chromedp.ID("bestaetigen")), chromedp.WaitVisible(chromedp.ID("meldung")),
		)
	}
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		must(t, err)
		return strings.TrimSpace(s)
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		must(t, err)
		p := filepath.Join(artifactDir(t), name)
		must(t, os.WriteFile(p, b, 0o644))
		t.Logf("screenshot: %s", p)
	}

	// A checker (who also holds approver rights) establishes the run …
	must(t, chromedp.Do(ctx, login("doppelrolle")))
	shot("zahllaeufe.png")
	// Keyboard use: the first Tab reaches the skip link, with a visible focus.
	must(t, chromedp.Do(ctx, chromedp.KeyEvent("\t")))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.textContent + "|" + getComputedStyle(document.activeElement).outlineStyle`))
	must(t, err)
	if focused != "Zum Inhalt springen|solid" {
		t.Errorf("after Tab: focused %q, want the skip link with a solid outline", focused)
	}
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must(t, err)
	must(t, os.WriteFile(filepath.Join(artifactDir(t), "tastatur-fokus.png"), b, 0o644))
	must(t, chromedp.Do(ctx, chromedp.Navigate(run), chromedp.WaitVisible(chromedp.ID("feststellen"))))
	shot("zahllauf-vorgeschlagen.png")
	must(t, chromedp.Do(ctx, confirm("feststellen")))
	if s := text("status"); s != "Festgestellt" {
		t.Fatalf("after Feststellung the state is %q", s)
	}
	// … and may not release it too: one person cannot do both. The page
	// offers no release button to them any more; the confirmation page,
	// opened directly, is refused on the server.
	if msg := text("eigene-feststellung"); !strings.Contains(msg, "andere") {
		t.Errorf("after own Feststellung: %q", msg)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(run+"/sign"), chromedp.WaitVisible(chromedp.ID("bestaetigen")),
		chromedp.Click(chromedp.ID("bestaetigen")), chromedp.WaitVisible(chromedp.ID("meldung"))))
	if msg, s := text("meldung"), text("status"); !strings.Contains(msg, "Die Freigabe muss eine andere Person erteilen als die Feststellung (Vier-Augen-Prinzip).") || s != "Festgestellt" {
		t.Fatalf("same person's release: message %q, state %q", msg, s)
	}
	shot("zahllauf-vier-augen.png")
	must(t, chromedp.Do(ctx, logout))

	// An approver with a sufficient limit (Amtsleitung) releases it.
	must(t, chromedp.Do(ctx, login("leitung"), chromedp.Navigate(run), confirm("freigeben")))
	if s := text("status"); s != "Freigegeben" {
		t.Fatalf("after Freigabe the state is %q (%s)", s, text("meldung"))
	}
	must(t, chromedp.Do(ctx, logout))

	// The cashier exports the run and downloads the pain.001 file.
	must(t, chromedp.Do(ctx, login("kasse"), chromedp.Navigate(run),
		chromedp.Click(chromedp.ID("exportieren")), chromedp.WaitVisible(chromedp.CSS("a.pain001"))))
	if s := text("status"); s != "Exportiert" {
		t.Fatalf("after export the state is %q", s)
	}
	shot("zahllauf.png")
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("a.pain001"), "href"))
	must(t, err)
	if !href.Exists {
		t.Fatal("no href on the pain.001 link")
	}
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	must(t, err)
	if strings.Contains(cookie, "payrun_session") { // HttpOnly
		t.Errorf("session cookie readable by scripts: %q", cookie)
	}
	must(t, chromedp.Do(ctx, logout))

	// The county previews a new rate: next month's totals per municipality.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.SetValue(chromedp.ID("kommune"), "kreis_unna"),
		chromedp.SetValue(chromedp.ID("login"), "kreis"),
		chromedp.SetValue(chromedp.ID("passwort"), "demo-kreis"),
		chromedp.Click(chromedp.ID("anmelden")), chromedp.WaitVisible(chromedp.ID("neuer-satz")),
		chromedp.SetValue(chromedp.ID("gueltig_ab"), (period).First().Time(time.UTC).Format("02.01.2006")),
		chromedp.SetValue(chromedp.ID("stufe"), "1"),
		chromedp.SetValue(chromedp.ID("betrag"), "600,00"),
		chromedp.Click(chromedp.ID("vorschau-zeigen")), chromedp.WaitVisible(chromedp.ID("auswirkung"))))
	shot("regelsaetze-vorschau.png")

	pain := download(t, e, e.srv.URL+href.Value, filepath.Join(artifactDir(t), "pain001.xml"))
	f, err := os.Open(pain)
	must(t, err)
	defer f.Close()
	rep, err := sepa.Check(f)
	must(t, err)
	if !rep.OK() || rep.Transactions == 0 {
		t.Errorf("pain.001: %d transactions, problems %v", rep.Transactions, rep.Problems)
	}
	xsd := filepath.Join(repoRoot(), "..", "shared", "xsd", "pain.001.001.09.xsd")
	if _, err := os.Stat(xsd); err != nil {
		t.Logf("no XSD at %s: xmllint validation skipped", xsd)
	} else if _, err := exec.LookPath("xmllint"); err != nil {
		t.Logf("no xmllint (make deps installs it): XSD validation skipped")
	} else if out, err := exec.Command("xmllint", "--noout", "--schema", xsd, pain).CombinedOutput(); err != nil {
		t.Errorf("xmllint: %v\n%s", err, out)
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

// repoRoot is the repository's root directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// artifactDir is testdata-artifacts/web in the repository root.
func artifactDir(t *testing.T) string {
	dir := filepath.Join(repoRoot(), "testdata-artifacts", "web")
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}

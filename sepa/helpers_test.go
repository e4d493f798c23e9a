package sepa_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/sepa"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.xml")

// Schema locations: the ISO schema is in the repository; the DK GBIC_5
// schema must stay out of it and is read from the shared folder that sits
// beside the repository.
const (
	isoSchema  = "testdata/pain.001.001.09.xsd"
	gbicSchema = "../../shared/xsd/pain.001.001.09_GBIC_5.xsd"
)

var created = time.Date(2026, 11, 27, 9, 30, 0, 0, time.FixedZone("CET", 3600))

// makeIBAN returns a valid IBAN for country and BBAN.
func makeIBAN(country, bban string) string {
	var digits strings.Builder
	for _, c := range bban + country + "00" {
		if c >= 'A' && c <= 'Z' {
			fmt.Fprintf(&digits, "%d", c-'A'+10)
		} else {
			digits.WriteRune(c)
		}
	}
	n, _ := new(big.Int).SetString(digits.String(), 10)
	check := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("%s%02d%s", country, check, bban)
}

// deIBAN returns the i-th synthetic German IBAN.
func deIBAN(i int) string { return makeIBAN("DE", fmt.Sprintf("44050199%010d", i)) }

var debtorIBAN = deIBAN(1)

// block is one PmtInf with its transactions; zero NbOfTxs/CtrlSum are
// filled in from the transactions.
type block struct {
	pi  sepa.PaymentInfo
	txs []sepa.Transaction
}

func header(msgID string) sepa.GroupHeader {
	return sepa.GroupHeader{MsgID: msgID, CreatedAt: created, InitiatingParty: "Stadt Lünen Sozialamt"}
}

func payment(id string) sepa.PaymentInfo {
	return sepa.PaymentInfo{PmtInfID: id, ExecutionDate: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Debtor: "Stadt Lünen", DebtorIBAN: debtorIBAN, DebtorBIC: "WELADED1LUN"}
}

func tx(i int) sepa.Transaction {
	return sepa.Transaction{EndToEndID: fmt.Sprintf("R7-C%d-2026-12", i), Amount: int64(50000 + i),
		CreditorName: fmt.Sprintf("Empfänger %d", i), CreditorIBAN: deIBAN(1000 + i),
		Remittance: fmt.Sprintf("SGB XII 12/2026 Fall %d", i)}
}

// write builds a whole message into out; a zero h.NbOfTxs means: fill
// the header totals from the blocks.
func write(out io.Writer, h sepa.GroupHeader, blocks []block) error {
	fill := h.NbOfTxs == 0
	for i := range blocks {
		b := &blocks[i]
		if b.pi.NbOfTxs == 0 {
			b.pi.NbOfTxs = len(b.txs)
			for _, t := range b.txs {
				b.pi.CtrlSum += t.Amount
			}
		}
		if fill {
			h.NbOfTxs += b.pi.NbOfTxs
			h.CtrlSum += b.pi.CtrlSum
		}
	}
	w, err := sepa.NewWriter(out, h)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if err := w.StartPaymentInfo(b.pi); err != nil {
			return err
		}
		for _, t := range b.txs {
			if err := w.Transaction(t); err != nil {
				return err
			}
		}
		if err := w.EndPaymentInfo(); err != nil {
			return err
		}
	}
	return w.Close()
}

func mustWrite(tb testing.TB, h sepa.GroupHeader, blocks []block) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := write(&buf, h, blocks); err != nil {
		tb.Fatalf("write: %v", err)
	}
	return buf.Bytes()
}

// mustCheck runs sepa.Check and fails on any problem.
func mustCheck(tb testing.TB, name string, r io.Reader) *sepa.Report {
	tb.Helper()
	rep, err := sepa.Check(r)
	if err != nil {
		tb.Fatalf("%s: Check: %v", name, err)
	}
	for _, p := range rep.Problems {
		tb.Errorf("%s: %s", name, p)
	}
	return rep
}

func xmllint(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		tb.Fatalf("xmllint not found in PATH: install libxml2-utils (make deps runs .ci/deps.sh): %v", err)
	}
	return p
}

// validateXSD validates the files with xmllint against the ISO schema and
// the DK GBIC_5 schema (both at once); when the GBIC_5 schema is absent it
// skips the test after the ISO validation, saying where it looked.
func validateXSD(tb testing.TB, files ...string) {
	tb.Helper()
	if msg := lintXSD(tb, files...); msg != "" {
		tb.Skip(msg)
	}
}

// lintXSD is validateXSD without the skip: it returns the skip message
// when the GBIC_5 schema is absent.
func lintXSD(tb testing.TB, files ...string) (skip string) {
	tb.Helper()
	lint := xmllint(tb)
	gbic, _ := filepath.Abs(gbicSchema)
	_, statErr := os.Stat(gbic)
	schemas := []string{isoSchema}
	if statErr == nil {
		schemas = append(schemas, gbic)
	}
	errs := make([]error, len(schemas))
	var wg sync.WaitGroup
	for i, schema := range schemas {
		wg.Go(func() {
			args := append([]string{"--noout", "--schema", schema}, files...)
			if out, err := exec.Command(lint, args...).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("xmllint --schema %s: %v\n%s", schema, err, truncate(out))
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Error(err)
		}
	}
	if errors.Is(statErr, os.ErrNotExist) {
		return fmt.Sprintf("DK GBIC_5 schema not found at %s (expected in ../shared/xsd beside the repository; it is not shipped in the repo); validated against the ISO schema only", gbic)
	} else if statErr != nil {
		tb.Fatalf("GBIC_5 schema: %v", statErr)
	}
	return ""
}

// validateBytes writes data to a temp file and validates it.
func validateBytes(tb testing.TB, name string, data []byte) {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name+".xml")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	validateXSD(tb, p)
}

func truncate(b []byte) string {
	if len(b) > 4000 {
		return string(b[:4000]) + "…"
	}
	return string(b)
}

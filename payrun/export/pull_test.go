package export_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
	"github.com/payrun/payrun/payrun/store"
)

// exportJSON exports run with the bookings JSON Lines file into a new
// directory and returns its booking records (control record left out).
func exportJSON(t *testing.T, b *bundle, run int64) []string {
	t.Helper()
	dir := t.TempDir()
	o := opts(b)
	o.BookingsJSON = true
	m, err := export.Run(context.Background(), b.db, run, dir, o)
	if err != nil {
		t.Fatalf("export run %d: %v", run, err)
	}
	for _, f := range m.Files {
		if f.Kind != export.KindBookingsJSON {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		var recs []string
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, `{"record":"booking"`) {
				recs = append(recs, l)
			}
		}
		if int64(len(recs)) != f.Lines || len(recs) == 0 {
			t.Fatalf("run %d: %d records in the file, manifest %d", run, len(recs), f.Lines)
		}
		return recs
	}
	t.Fatalf("run %d: no bookings JSON file", run)
	return nil
}

// pullAll pulls and acknowledges every batch after cursor after with batch
// size limit and returns the records and the last cursor.
func pullAll(t *testing.T, db *store.DB, municipality string, after int64, limit int) ([]string, int64) {
	t.Helper()
	var got []string
	for i := 0; ; i++ {
		batch, err := db.NextBatch(context.Background(), municipality, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if batch.ID == 0 {
			if len(batch.Records) != 0 || batch.Cursor != after {
				t.Fatalf("empty batch %+v", batch)
			}
			return got, after
		}
		if len(batch.Records) == 0 || len(batch.Records) > limit || batch.After != after {
			t.Fatalf("batch %d after %d: %d records (limit %d), after %d", batch.ID, after, len(batch.Records), limit, batch.After)
		}
		if err := db.Ack(context.Background(), municipality, batch.ID); err != nil {
			t.Fatal(err)
		}
		got = append(got, batch.Records...)
		after = batch.Cursor
		if i > 100_000 {
			t.Fatal("bookings never end")
		}
	}
}

// TestBookingsPullAtLeastOnce: a finance system pulls the journal of an
// exported run in batches; a client that crashes between pull and ack gets
// the same batch again; acknowledging twice is harmless; the records are
// those of the export's JSON file, in order, each once; another
// municipality sees nothing.
func TestBookingsPullAtLeastOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	run := mixedRun(t, b, payrun.RunReleased)
	want := exportJSON(t, b, run)
	// A re-export adds no records.
	if _, err := export.Run(ctx, b.db, run, t.TempDir(), opts(b)); err != nil {
		t.Fatal(err)
	}
	first, err := b.db.NextBatch(ctx, mun, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || len(first.Records) != 10 {
		t.Fatalf("first batch: id %d, %d records", first.ID, len(first.Records))
	}
	// The client "crashes" before the ack and asks again from its cursor.
	again, err := b.db.NextBatch(ctx, mun, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || !slices.Equal(again.Records, first.Records) {
		t.Fatalf("unacknowledged batch not served again: %d vs %d", again.ID, first.ID)
	}
	var got []string
	batch := again
	for batch.ID != 0 {
		got = append(got, batch.Records...)
		for range 2 { // ack twice: harmless
			if err := b.db.Ack(ctx, mun, batch.ID); err != nil {
				t.Fatalf("ack %d: %v", batch.ID, err)
			}
		}
		if batch, err = b.db.NextBatch(ctx, mun, batch.Cursor, 10); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pulled %d records, the file has %d; first differing:\n%s", len(got), len(want), firstDiff(got, want))
	}
	// Tenancy: the county sees no bookings and cannot ack luenen's batch.
	other, err := b.db.NextBatch(ctx, "kreis", 0, 10)
	if err != nil || other.ID != 0 || len(other.Records) != 0 {
		t.Errorf("other municipality: %+v, %v", other, err)
	}
	if err := b.db.Ack(ctx, "kreis", first.ID); !errors.Is(err, payrun.ErrNotFound) {
		t.Errorf("ack of another municipality's batch: %v", err)
	}
}

// TestBookingsPullAcrossRunsAndPages: the journals of two exported runs
// follow each other (batches straddle the runs and the journal pages of a
// run of 2,500 lines); the records stay those of the files even after the
// account rules changed, and a re-export after the change writes the same
// bytes (it books with the rules of the first export).
func TestBookingsPullAcrossRunsAndPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run1 := mixedRun(t, b, payrun.RunReleased)
	want := exportJSON(t, b, run1)
	run2 := manyRun(t, b, 2500)
	want = append(want, exportJSON(t, b, run2)...)

	exec1(t, b.db, "*", `UPDATE account_rules SET account = '99999999'`)
	for _, limit := range []int{97, 1000, 10_000} {
		// Each pass starts at 0: acknowledged batches are not served
		// again, a new batch starts at the same cursor.
		got, end := pullAll(t, b.db, mun, 0, limit)
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d: pulled %d records, the files have %d; first differing:\n%s", limit, len(got), len(want), firstDiff(got, want))
		}
		if end != int64(len(want)) {
			t.Errorf("limit %d: last cursor %d, want %d", limit, end, len(want))
		}
	}
	again := exportJSON(t, b, run2)
	if !slices.Equal(again, want[len(want)-len(again):]) {
		t.Errorf("re-export after a rule change differs:\n%s", firstDiff(again, want[len(want)-len(again):]))
	}
	// A cursor in the middle of a run's journal continues there.
	got, _ := pullAll(t, b.db, mun, int64(len(want))-1001, 300)
	if !slices.Equal(got, want[len(want)-1001:]) {
		t.Errorf("from the middle: %d records, want 1001", len(got))
	}
}

// TestBookingsPullLegacyRows: journal rows stored in booking_lines before
// migration 0085 are served first, with their ids as cursors; the journals
// of later exports follow them; a run with legacy rows gets no second
// journal when it is exported again.
func TestBookingsPullLegacyRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	old := mixedRun(t, b, payrun.RunReleased)
	var legacy []string
	for i := range 5 {
		rec := `{"record":"booking","legacy":` + string(rune('1'+i)) + `}`
		legacy = append(legacy, rec)
		exec1(t, b.db, mun, `INSERT INTO booking_lines (municipality, run_id, n, record) VALUES ($1, $2, $3, $4)`,
			mun, old, i+1, rec)
	}
	// Exported again: the run keeps its legacy rows, no new journal.
	if _, err := export.Run(ctx, b.db, old, t.TempDir(), opts(b)); err != nil {
		t.Fatal(err)
	}
	run := bigRun(t, b, 3, false)
	want := append(slices.Clone(legacy), exportJSON(t, b, run)...)
	got, _ := pullAll(t, b.db, mun, 0, 2)
	if !slices.Equal(got, want) {
		t.Fatalf("pulled %d records, want %d legacy and then the journal:\n%s", len(got), len(want), firstDiff(got, want))
	}
}

// manyRun has n beneficiary cases with a regular payment and, every
// third case, an income line (so cases have one or two lines).
func manyRun(tb testing.TB, b *bundle, n int) int64 {
	payees := map[string]payee{}
	var lines []line
	for i := range n {
		id := fmt.Sprintf("MNY-%06d", i)
		payees[id] = payee{payrun.ChannelSEPA, "Empfänger " + id, ""}
		lines = append(lines, line{id, period, payrun.PayeeBeneficiary, payrun.CompRegular, payrun.LinePayment,
			payrun.Cents(40000 + i), "", ""})
		if i%3 == 0 {
			lines = append(lines, line{id, period, payrun.PayeeBeneficiary, payrun.CompIncome, payrun.LinePayment,
				-payrun.Cents(1000 + i), "", ""})
		}
	}
	return b.newRun(tb, payrun.RunReleased, false, payees, lines)
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return "got  " + got[i] + "\nwant " + want[i]
		}
	}
	return "(one is a prefix of the other)"
}

// TestBookingsPullEmptyRun: a run without lines exports (no pain.001, an
// empty journal) and takes no cursor positions; the next run's journal
// starts at the beginning.
func TestBookingsPullEmptyRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	empty := b.newRun(t, payrun.RunReleased, false, map[string]payee{}, nil)
	m, err := export.Run(context.Background(), b.db, empty, t.TempDir(), opts(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 || m.Files[0].Kind != export.KindBookings || m.Files[0].Lines != 0 {
		t.Errorf("empty run's files: %+v", m.Files)
	}
	want := exportJSON(t, b, bigRun(t, b, 3, false))
	if got, end := pullAll(t, b.db, mun, 0, 4); !slices.Equal(got, want) || end != int64(len(want)) {
		t.Errorf("pulled %d records up to cursor %d, want %d", len(got), end, len(want))
	}
}

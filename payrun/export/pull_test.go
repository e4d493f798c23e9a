package export_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/export"
)

// TestBookingsPullAtLeastOnce: a finance system pulls the journal of an
// exported run in batches; a client that crashes between pull and ack gets
// the same batch again; acknowledging twice is harmless; every line comes
// through; another municipality sees nothing.
func TestBookingsPullAtLeastOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	run := mixedRun(t, b, payrun.RunReleased)
	m, err := export.Run(ctx, b.db, run, t.TempDir(), opts(b))
	if err != nil {
		t.Fatal(err)
	}
	// A re-export stores nothing twice.
	if _, err := export.Run(ctx, b.db, run, t.TempDir(), opts(b)); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, f := range m.Files {
		if f.Kind == export.KindBookingsJSON {
			want = f.Lines
		}
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
	if int64(len(got)) != want {
		t.Errorf("pulled %d records, the journal has %d", len(got), want)
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r] || !strings.Contains(r, `"record":"booking"`) {
			t.Errorf("duplicate or odd record %s", r)
		}
		seen[r] = true
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

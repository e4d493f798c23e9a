package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/payrun/runs"
	"github.com/payrun/payrun/payrun/store"
)

// importDecisions imports a JSON Lines body of approved decisions (role
// admin); every line must belong to the caller's municipality.
func (a *api) importDecisions(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	if err := need(u, "importing decisions", payrun.RoleAdmin); err != nil {
		return err
	}
	src := &tenantLines{r: bufio.NewReaderSize(r.Body, 64<<10), municipality: u.Municipality}
	res, err := a.db.Import(r.Context(), src, store.ImportOptions{Actor: u.Login, Source: "http", Now: a.cfg.Now})
	if src.err != nil {
		return src.err // the cause, e.g. a foreign line or an oversize body
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// tenantLines passes JSON Lines through and fails at the first line whose
// "municipality" is another one (a line that is not JSON passes: the
// importer reports it with its line number).
type tenantLines struct {
	r            *bufio.Reader
	municipality string
	line         int
	buf          []byte
	err          error
}

func (t *tenantLines) Read(p []byte) (int, error) {
	for len(t.buf) == 0 {
		if t.err != nil {
			return 0, t.err
		}
		line, err := t.r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			t.err = fmt.Errorf("read body: %w", err)
			return 0, t.err
		}
		if len(line) > 0 {
			t.line++
			if ferr := t.check(line); ferr != nil {
				t.err = ferr
				return 0, ferr
			}
			t.buf = line
		}
		if errors.Is(err, io.EOF) {
			if len(t.buf) == 0 {
				return 0, io.EOF
			}
			break
		}
	}
	n := copy(p, t.buf)
	t.buf = t.buf[n:]
	return n, nil
}

func (t *tenantLines) check(line []byte) error {
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	var d struct {
		Municipality string `json:"municipality"`
		DecisionID   string `json:"decision_id"`
	}
	if json.Unmarshal(line, &d) != nil || d.Municipality == t.municipality {
		return nil
	}
	return &payrun.FieldError{Line: t.line, Record: d.DecisionID, Field: "municipality", Value: d.Municipality,
		Err: fmt.Errorf("not the municipality of the caller (%s)", t.municipality)}
}

// apiBatch is a booking batch as the API answers it.
type apiBatch struct {
	Batch   int64             `json:"batch"`  // 0: nothing after the cursor
	After   int64             `json:"after"`  // the cursor asked with
	Cursor  int64             `json:"cursor"` // ask with it after acknowledging the batch
	Records []json.RawMessage `json:"records"`
}

// nextBookings answers the batch of booking lines after ?after= (role
// cashier). An unacknowledged batch is answered again.
func (a *api) nextBookings(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	if err := need(u, "pulling bookings", payrun.RoleCashier); err != nil {
		return err
	}
	q := r.URL.Query()
	after, err := queryInt(q.Get("after"), 0)
	if err != nil {
		return fmt.Errorf("after: %w", err)
	}
	limit, err := queryInt(q.Get("limit"), int64(a.cfg.BookingBatchLines))
	if err != nil || limit < 1 || limit > maxBookingBatchLines {
		return fmt.Errorf("limit %q: want 1 to %d: %w", q.Get("limit"), maxBookingBatchLines, payrun.ErrInvalid)
	}
	b, err := a.db.NextBatch(r.Context(), u.Municipality, after, int(limit))
	if err != nil {
		return err
	}
	out := apiBatch{Batch: b.ID, After: b.After, Cursor: b.Cursor, Records: make([]json.RawMessage, len(b.Records))}
	for i, rec := range b.Records {
		out.Records[i] = json.RawMessage(rec)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ackBookings acknowledges {"batch"} (role cashier).
func (a *api) ackBookings(w http.ResponseWriter, r *http.Request, u runs.Signer) error {
	if err := need(u, "acknowledging bookings", payrun.RoleCashier); err != nil {
		return err
	}
	var req struct {
		Batch int64 `json:"batch"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Batch <= 0 {
		return fmt.Errorf("batch: required: %w", payrun.ErrInvalid)
	}
	if err := a.db.Ack(r.Context(), u.Municipality, req.Batch); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"batch": req.Batch, "acknowledged": true})
	return nil
}

// queryInt parses a non-negative query parameter; def when empty.
func queryInt(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer: %w", s, payrun.ErrInvalid)
	}
	return n, nil
}

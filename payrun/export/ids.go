package export

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/payrun/payrun/payrun"
	"github.com/payrun/payrun/sepa"
)

// EndToEndID returns the EndToEndId of the transaction of one (case, payee)
// in run runID: "<run>-<case>-B" for the beneficiary, "-L" for the landlord.
// Characters outside the SEPA identifier set are replaced by '.', and an id
// longer than 35 characters is shortened deterministically to a prefix plus
// a hash suffix of the full id, so it stays unique and stable.
func EndToEndID(runID, caseID string, role payrun.PayeeRole) string {
	suffix := "B"
	if role == payrun.PayeeLandlord {
		suffix = "L"
	}
	return shortID(runID + "-" + caseID + "-" + suffix)
}

// MsgID returns the MsgId of file number n (1-based) of run runID. The
// prefix makes it distinct from EndToEndIds.
func MsgID(runID string, instant bool, n int) string {
	kind := "SCT"
	if instant {
		kind = "INST"
	}
	return shortID(fmt.Sprintf("PAYRUN-%s-%s-%d", runID, kind, n))
}

// PmtInfID returns the PmtInfId of the only payment information block of
// file n of run runID.
func PmtInfID(runID string, instant bool, n int) string {
	return MsgID(runID, instant, n) + "-1"
}

// VoucherNo returns the cash voucher number of a case's cash payout.
func VoucherNo(runID, caseID string) string {
	return shortID("BAR-" + runID + "-" + caseID)
}

// shortID returns s when it is a valid SEPA identifier. Otherwise (a
// character outside [A-Za-z0-9 +?/-:().,'] or more than 35 characters) it
// keeps a prefix of s with the other characters replaced by '.', and
// appends "+" and 10 hex digits of the SHA-256 of s, so that distinct
// inputs stay distinct and the result is stable.
func shortID(s string) string {
	if sepa.IDValid(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < sepa.MaxIDLen-11; i++ {
		if c := s[i]; c < 0x80 && sepa.IDValid(string(c)) {
			b.WriteByte(c)
		} else {
			b.WriteByte('.')
		}
	}
	sum := sha256.Sum256([]byte(s))
	return b.String() + "+" + hex.EncodeToString(sum[:])[:10]
}

package sepa

import (
	"fmt"
	"strconv"
)

func validateHeader(h *GroupHeader) error {
	rec := fmt.Sprintf("GrpHdr MsgId %q", h.MsgID)
	switch {
	case !IDValid(h.MsgID):
		return &FieldError{Record: rec, Field: "MsgID", Value: h.MsgID, Err: errID}
	case h.CreatedAt.IsZero():
		return &FieldError{Record: rec, Field: "CreatedAt", Value: "", Err: invalid("missing")}
	case h.NbOfTxs < 1:
		return &FieldError{Record: rec, Field: "NbOfTxs", Value: strconv.Itoa(h.NbOfTxs), Err: invalid("at least 1")}
	case h.CtrlSum < MinAmount || h.CtrlSum > maxCtrl:
		return &FieldError{Record: rec, Field: "CtrlSum", Value: FormatAmount(h.CtrlSum), Err: invalid("out of range")}
	}
	return checkText(rec, "InitiatingParty", h.InitiatingParty, MaxNameLen)
}

func validatePaymentInfo(p *PaymentInfo) error {
	rec := pmtRecord(p.PmtInfID)
	switch {
	case !IDValid(p.PmtInfID):
		return &FieldError{Record: rec, Field: "PmtInfID", Value: p.PmtInfID, Err: errID}
	case p.ExecutionDate.IsZero():
		return &FieldError{Record: rec, Field: "ExecutionDate", Err: invalid("missing")}
	case p.NbOfTxs < 1:
		return &FieldError{Record: rec, Field: "NbOfTxs", Value: strconv.Itoa(p.NbOfTxs), Err: invalid("at least 1")}
	case p.CtrlSum < MinAmount || p.CtrlSum > maxCtrl:
		return &FieldError{Record: rec, Field: "CtrlSum", Value: FormatAmount(p.CtrlSum), Err: invalid("out of range")}
	case !IBANValid(p.DebtorIBAN):
		return &FieldError{Record: rec, Field: "DebtorIBAN", Value: p.DebtorIBAN, Err: errIBAN}
	case p.DebtorBIC != "" && p.DebtorBIC != NotProvided && !BICValid(p.DebtorBIC):
		return &FieldError{Record: rec, Field: "DebtorBIC", Value: p.DebtorBIC, Err: errBIC}
	case p.CategoryPurpose != "" && !codeValid(p.CategoryPurpose):
		return &FieldError{Record: rec, Field: "CategoryPurpose", Value: p.CategoryPurpose, Err: errCode}
	}
	return checkText(rec, "Debtor", p.Debtor, MaxNameLen)
}

// validateTransaction checks t and fills in the default purpose.
func validateTransaction(t *Transaction) error {
	rec := fmt.Sprintf("CdtTrfTxInf EndToEndId %q", t.EndToEndID)
	if t.Purpose == "" {
		t.Purpose = DefaultPurpose
	}
	switch {
	case !IDValid(t.EndToEndID):
		return &FieldError{Record: rec, Field: "EndToEndID", Value: t.EndToEndID, Err: errID}
	case t.InstrID != "" && !IDValid(t.InstrID):
		return &FieldError{Record: rec, Field: "InstrID", Value: t.InstrID, Err: errID}
	case t.Amount < MinAmount || t.Amount > MaxAmount:
		return &FieldError{Record: rec, Field: "Amount", Value: FormatAmount(t.Amount), Err: invalid("amount outside 0.01..999999999.99")}
	case !IBANValid(t.CreditorIBAN):
		return &FieldError{Record: rec, Field: "CreditorIBAN", Value: t.CreditorIBAN, Err: errIBAN}
	case t.CreditorBIC == NotProvided:
		return &FieldError{Record: rec, Field: "CreditorBIC", Value: t.CreditorBIC, Err: invalid("leave the creditor BIC empty when unknown (CdtrAgt is then omitted)")}
	case t.CreditorBIC != "" && !BICValid(t.CreditorBIC):
		return &FieldError{Record: rec, Field: "CreditorBIC", Value: t.CreditorBIC, Err: errBIC}
	case !codeValid(t.Purpose):
		return &FieldError{Record: rec, Field: "Purpose", Value: t.Purpose, Err: errCode}
	}
	if err := checkText(rec, "CreditorName", t.CreditorName, MaxNameLen); err != nil {
		return err
	}
	if t.UltimateCreditor != "" {
		if err := checkText(rec, "UltimateCreditor", t.UltimateCreditor, MaxNameLen); err != nil {
			return err
		}
	}
	if t.Remittance != "" {
		return checkText(rec, "Remittance", t.Remittance, MaxRemittanceLen)
	}
	return nil
}

var (
	errID   = invalid("identifier must be 1-35 characters of A-Z a-z 0-9 space + ? / - : ( ) . , '")
	errIBAN = invalid("not an IBAN of a SEPA country (length or check digits)")
	errBIC  = invalid("not a BIC (8 or 11 characters, ISO 9362)")
	errCode = invalid("code must be 4 upper-case letters")
)

func checkText(rec, field, s string, max int) error {
	if TextValid(s, max) {
		return nil
	}
	return &FieldError{Record: rec, Field: field, Value: s,
		Err: invalid("text must be 1-%d characters of the DK set (basic Latin plus ÄÖÜäöüß&*$%%)", max)}
}

// codeValid reports whether s is a 4-letter upper-case external code.
func codeValid(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		if !isUpper(s[i]) {
			return false
		}
	}
	return true
}

func pmtRecord(id string) string { return fmt.Sprintf("PmtInf PmtInfId %q", id) }

package payrun

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// MaxIDLength is the longest decision_id, case_id or reclaim_id accepted:
// ids end up in SEPA EndToEndIds and remittance texts (35 characters).
const MaxIDLength = 35

// Errors of decision validation (wrapped in FieldErrors).
var (
	ErrRequired   = errors.New("required")
	ErrIDCharset  = errors.New("must be 1–35 characters of A–Z a–z 0–9 + ? / - : ( ) . , ' and space (SEPA id charset)")
	ErrNegative   = errors.New("must not be negative")
	ErrNotAllowed = errors.New("not allowed here")
)

// ValidID reports whether s can be a decision, case or reclaim id: 1–35
// characters of the SEPA Latin set used in ids (A–Z a–z 0–9 + ? / - : ( ) .
// , ' and space).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '+' || c == '?' || c == '/' || c == '-' || c == ':' || c == '(' || c == ')' ||
			c == '.' || c == ',' || c == '\'' || c == ' ':
		default:
			return false
		}
	}
	return true
}

// earliestDate bounds dates accepted from the outside; earlier dates are
// typos (or missing fields, which decode as 1970-01-01).
var earliestDate = NewDate(1900, 1, 1)

// Validate checks d against the rules of CONTRACT.md §2 that need nothing
// but d itself (existence of the municipality, supersession and overlaps
// need the database and are checked by the importer). It returns one
// FieldError per problem, with Record set to the decision_id; callers set
// Line.
func (d *Decision) Validate() []*FieldError {
	v := validator{rec: d.DecisionID}
	v.require("municipality", d.Municipality)
	v.id("decision_id", d.DecisionID)
	v.id("case_id", d.CaseID)
	if !d.Law.Valid() {
		v.add("law", string(d.Law), fmt.Errorf("unknown law; want one of %v", Laws))
	}
	if d.ValidFrom < NewDate(2000, 1, 1) {
		v.add("valid_from", d.ValidFrom.String(), errors.New("missing or before 2000-01-01"))
	}
	if d.ValidTo != nil && *d.ValidTo < d.ValidFrom {
		v.add("valid_to", d.ValidTo.String(), errors.New("before valid_from"))
	}
	for i, s := range d.Supersedes {
		if !ValidID(s) {
			v.add(indexed("supersedes", i, ""), s, ErrIDCharset)
		}
		if s == d.DecisionID {
			v.add(indexed("supersedes", i, ""), s, errors.New("a decision cannot supersede itself"))
		}
	}
	v.persons(d)
	v.housing(d)
	v.nonNegative("countable_income", d.CountableIncome)
	v.payee(d.Payee)
	if d.Offset != nil {
		v.id("offset.reclaim_id", d.Offset.ReclaimID)
		v.nonNegative("offset.monthly", d.Offset.Monthly)
		v.nonNegative("offset.remaining", d.Offset.Remaining)
	}
	return v.errs
}

type validator struct {
	rec  string
	errs []*FieldError
}

func (v *validator) add(field, value string, err error) {
	v.errs = append(v.errs, &FieldError{Record: v.rec, Field: field, Value: value, Err: err})
}

func (v *validator) require(field, s string) {
	if s == "" {
		v.add(field, "", ErrRequired)
	}
}

func (v *validator) id(field, s string) {
	if !ValidID(s) {
		v.add(field, s, ErrIDCharset)
	}
}

func (v *validator) nonNegative(field string, c Cents) {
	if c < 0 {
		v.add(field, c.String(), ErrNegative)
	}
}

// indexed is the name of field of element i of list ("persons[2].name");
// built only for errors (Validate runs for every imported line).
func indexed(list string, i int, field string) string {
	return list + "[" + strconv.Itoa(i) + "]" + field
}

func (v *validator) persons(d *Decision) {
	if len(d.Persons) == 0 {
		v.add("persons", "", errors.New("at least one person required"))
	}
	for i, p := range d.Persons {
		if p.PersonID == "" {
			v.add(indexed("persons", i, ".person_id"), "", ErrRequired)
		}
		if p.PersonID != "" && slices.ContainsFunc(d.Persons[:i], func(q Person) bool { return q.PersonID == p.PersonID }) {
			v.add(indexed("persons", i, ".person_id"), p.PersonID, errors.New("duplicate person_id"))
		}
		if p.Name == "" {
			v.add(indexed("persons", i, ".name"), "", ErrRequired)
		}
		if p.BirthDate < earliestDate || (d.ValidTo != nil && p.BirthDate > *d.ValidTo) {
			v.add(indexed("persons", i, ".birth_date"), p.BirthDate.String(), errors.New("missing or implausible"))
		}
		v.needs(d.Law, i, p)
		for j, e := range p.ExtraNeeds {
			v.extraNeed(d.Law, i, j, e)
		}
	}
}

func (v *validator) needs(law Law, i int, p Person) {
	if law == LawAsylbLG1a {
		if p.NeedsLevel != 0 {
			v.add(indexed("persons", i, ".needs_level"), fmt.Sprint(p.NeedsLevel), fmt.Errorf("%w under asylblg_1a (fixed_amount instead)", ErrNotAllowed))
		}
		if p.FixedAmount == nil {
			v.add(indexed("persons", i, ".fixed_amount"), "", fmt.Errorf("%w under asylblg_1a", ErrRequired))
		} else if *p.FixedAmount < 0 {
			v.add(indexed("persons", i, ".fixed_amount"), p.FixedAmount.String(), ErrNegative)
		}
		return
	}
	if p.NeedsLevel < 1 || p.NeedsLevel > 6 {
		v.add(indexed("persons", i, ".needs_level"), fmt.Sprint(p.NeedsLevel), errors.New("missing or not 1–6"))
	}
	if p.FixedAmount != nil {
		v.add(indexed("persons", i, ".fixed_amount"), p.FixedAmount.String(), fmt.Errorf("%w: only under asylblg_1a", ErrNotAllowed))
	}
}

func (v *validator) extraNeed(law Law, i, j int, e ExtraNeed) {
	f := func(field string) string { return indexed("persons", i, indexed(".extra_needs", j, field)) }
	switch e.Kind {
	case ExtraFixed:
		if e.Amount <= 0 {
			v.add(f(".amount"), e.Amount.String(), errors.New("fixed extra need needs an amount > 0"))
		}
		if e.Percent != 0 {
			v.add(f(".percent"), e.Percent.String(), fmt.Errorf("%w with kind fixed", ErrNotAllowed))
		}
	case ExtraSingleParent, ExtraPregnancy, ExtraDisability, ExtraWarmWater:
		if law == LawAsylbLG3 || law == LawAsylbLG1a {
			v.add(f(".kind"), string(e.Kind), fmt.Errorf("%w under %s: only fixed extra needs", ErrNotAllowed, law))
		}
		if e.Percent <= 0 {
			v.add(f(".percent"), e.Percent.String(), errors.New("must be greater than 0"))
		}
		if e.Amount != 0 {
			v.add(f(".amount"), e.Amount.String(), fmt.Errorf("%w with a percentage kind", ErrNotAllowed))
		}
	default:
		v.add(f(".kind"), string(e.Kind), errors.New("unknown kind; want single_parent, pregnancy, disability, warm_water or fixed"))
	}
}

func (v *validator) housing(d *Decision) {
	h := d.Housing
	if h == nil {
		return
	}
	v.nonNegative("housing.rent", h.Rent)
	v.nonNegative("housing.heating", h.Heating)
	switch h.PayTo {
	case PayToBeneficiary:
	case PayToLandlord:
		if d.Landlord == nil {
			v.add("landlord", "", fmt.Errorf("%w when housing.pay_to is landlord", ErrRequired))
			return
		}
		v.require("landlord.name", d.Landlord.Name)
		if err := CheckIBAN(d.Landlord.IBAN); err != nil {
			v.add("landlord.iban", d.Landlord.IBAN, err)
		}
		v.bic("landlord.bic", d.Landlord.BIC)
	default:
		v.add("housing.pay_to", string(h.PayTo), errors.New("want beneficiary or landlord"))
	}
}

func (v *validator) payee(p Payee) {
	v.require("payee.name", p.Name)
	switch p.Channel {
	case ChannelSEPA, ChannelCard:
		if err := CheckIBAN(p.IBAN); err != nil {
			v.add("payee.iban", p.IBAN, err)
		}
		v.bic("payee.bic", p.BIC)
	case ChannelCash:
		if p.IBAN != "" {
			v.add("payee.iban", p.IBAN, fmt.Errorf("%w for cash payouts", ErrNotAllowed))
		}
		if p.BIC != nil {
			v.add("payee.bic", *p.BIC, fmt.Errorf("%w for cash payouts", ErrNotAllowed))
		}
	default:
		v.add("payee.channel", string(p.Channel), errors.New("want sepa, card or cash"))
	}
}

func (v *validator) bic(field string, bic *string) {
	if bic == nil {
		return
	}
	b := *bic
	ok := len(b) == 8 || len(b) == 11
	for i := 0; ok && i < len(b); i++ {
		c := b[i]
		ok = (c >= 'A' && c <= 'Z') || (i >= 6 && c >= '0' && c <= '9')
	}
	if !ok {
		v.add(field, b, errors.New("not a BIC (8 or 11 characters)"))
	}
}

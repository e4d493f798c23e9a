package booking

import (
	"errors"
	"fmt"

	"github.com/payrun/payrun/payrun"
)

// AccountKind is the role an account plays in a booking.
type AccountKind string

// The account kinds of a rule.
const (
	KindExpense      AccountKind = "expense"       // Transferaufwand (NKF 533x)
	KindPayable      AccountKind = "payable"       // Verbindlichkeit aus Transferleistungen
	KindReceivable   AccountKind = "receivable"    // Forderung (overpayment, reclaim)
	KindRevenue      AccountKind = "revenue"       // Ertrag (offset against a reclaim)
	KindBankClearing AccountKind = "bank_clearing" // Zahlungsverkehr / Finanzmittelkonto
)

// AccountKinds lists every kind in a fixed order.
var AccountKinds = []AccountKind{KindExpense, KindPayable, KindReceivable, KindRevenue, KindBankClearing}

// Valid reports whether k is one of AccountKinds.
func (k AccountKind) Valid() bool { return kindIndex(k) >= 0 }

// ErrMissingRule is matched (errors.Is) by every MissingRuleError.
var ErrMissingRule = errors.New("missing account rule")

// MissingRuleError names the rule a booking needs and the chart lacks.
type MissingRuleError struct {
	Municipality string
	Law          payrun.Law
	Component    payrun.Component
	CostBearer   payrun.CostBearer
	Kind         AccountKind
}

func (e *MissingRuleError) Error() string {
	return fmt.Sprintf("booking: municipality %q has no account rule (and the county default none) for law %s, component %s, cost bearer %s, kind %s",
		e.Municipality, e.Law, e.Component, e.CostBearer, e.Kind)
}

// Unwrap returns ErrMissingRule.
func (e *MissingRuleError) Unwrap() error { return ErrMissingRule }

// Rule assigns an account and its dimensions to (law, component, cost
// bearer, kind). Municipality "" is the county-wide default; a
// municipality's own rule for the same key overrides it.
type Rule struct {
	Municipality   string            `json:"municipality"`
	Law            payrun.Law        `json:"law"`
	Component      payrun.Component  `json:"component"`
	CostBearer     payrun.CostBearer `json:"cost_bearer"`
	Kind           AccountKind       `json:"kind"`
	Account        string            `json:"account"`
	Product        string            `json:"product"`
	CostCentre     string            `json:"cost_centre"`
	BudgetPosition string            `json:"budget_position"`
}

// Assignment is what a resolved rule gives a booking line.
type Assignment struct {
	Account        string
	Product        string
	CostCentre     string
	BudgetPosition string
	Default        bool // taken from the county-wide default
}

const (
	nLaws    = 5
	nComps   = 7
	nBearers = 3
	nKinds   = 5
	nSlots   = nLaws * nComps * nBearers * nKinds
)

func lawIndex(l payrun.Law) int {
	switch l {
	case payrun.LawAsylbLG3:
		return 0
	case payrun.LawAsylbLG2:
		return 1
	case payrun.LawAsylbLG1a:
		return 2
	case payrun.LawSGB12Ch3:
		return 3
	case payrun.LawSGB12Ch4:
		return 4
	}
	return -1
}

func compIndex(c payrun.Component) int {
	switch c {
	case payrun.CompRegular:
		return 0
	case payrun.CompExtra:
		return 1
	case payrun.CompChildSupplement:
		return 2
	case payrun.CompRent:
		return 3
	case payrun.CompHeating:
		return 4
	case payrun.CompIncome:
		return 5
	case payrun.CompOffset:
		return 6
	}
	return -1
}

func bearerIndex(b payrun.CostBearer) int {
	switch b {
	case payrun.BearerBund:
		return 0
	case payrun.BearerMunicipality:
		return 1
	case payrun.BearerFlueAG:
		return 2
	}
	return -1
}

func kindIndex(k AccountKind) int {
	switch k {
	case KindExpense:
		return 0
	case KindPayable:
		return 1
	case KindReceivable:
		return 2
	case KindRevenue:
		return 3
	case KindBankClearing:
		return 4
	}
	return -1
}

// slot returns the index of a key in Chart.slots, or -1 if any part of the
// key is unknown.
func slot(l payrun.Law, c payrun.Component, b payrun.CostBearer, k AccountKind) int {
	li, ci, bi, ki := lawIndex(l), compIndex(c), bearerIndex(b), kindIndex(k)
	if li < 0 || ci < 0 || bi < 0 || ki < 0 {
		return -1
	}
	return ((li*nComps+ci)*nBearers+bi)*nKinds + ki
}

// Chart is one municipality's resolved chart of accounts: the county-wide
// default rules overlaid with the municipality's own. It is immutable after
// NewChart and safe for concurrent use. Lookups index a fixed array; they
// build no strings and do not allocate.
type Chart struct {
	municipality string
	slots        [nSlots]int32 // 1-based index into assign; 0 = no rule
	assign       []Assignment
}

// NewChart resolves rules for municipality. Rules of other municipalities
// are ignored; a municipality's rule beats the default rule of the same
// (law, component, cost bearer, kind). Invalid rules and two rules for the
// same key at the same level are errors.
func NewChart(municipality string, rules []Rule) (*Chart, error) {
	if municipality == "" {
		return nil, fmt.Errorf("booking: chart: %w: municipality is empty", payrun.ErrInvalid)
	}
	c := &Chart{municipality: municipality}
	var own [nSlots]bool
	for i, r := range rules {
		if r.Municipality != "" && r.Municipality != municipality {
			continue
		}
		s, err := checkRule(r)
		if err != nil {
			return nil, fmt.Errorf("booking: chart %s: rule %d: %w", municipality, i+1, err)
		}
		isOwn := r.Municipality != ""
		if c.slots[s] != 0 && own[s] == isOwn {
			return nil, fmt.Errorf("booking: chart %s: rule %d: %w: a second rule for law %s, component %s, cost bearer %s, kind %s (municipality %q)",
				municipality, i+1, payrun.ErrConflict, r.Law, r.Component, r.CostBearer, r.Kind, r.Municipality)
		}
		if c.slots[s] != 0 && !isOwn {
			continue // the municipality's own rule already won
		}
		c.assign = append(c.assign, Assignment{
			Account: r.Account, Product: r.Product, CostCentre: r.CostCentre,
			BudgetPosition: r.BudgetPosition, Default: !isOwn,
		})
		c.slots[s] = int32(len(c.assign))
		own[s] = isOwn
	}
	return c, nil
}

func checkRule(r Rule) (int, error) {
	field := func(name, value string) error {
		return &payrun.FieldError{Record: r.Municipality, Field: name, Value: value, Err: errors.New("unknown value")}
	}
	switch {
	case !r.Law.Valid():
		return 0, field("law", string(r.Law))
	case compIndex(r.Component) < 0:
		return 0, field("component", string(r.Component))
	case bearerIndex(r.CostBearer) < 0:
		return 0, field("cost_bearer", string(r.CostBearer))
	case !r.Kind.Valid():
		return 0, field("kind", string(r.Kind))
	case r.Account == "":
		return 0, &payrun.FieldError{Record: r.Municipality, Field: "account", Err: errors.New("is empty")}
	}
	return slot(r.Law, r.Component, r.CostBearer, r.Kind), nil
}

// Municipality returns the municipality the chart was resolved for.
func (c *Chart) Municipality() string { return c.municipality }

// Resolve returns the account assignment of (law, component, cost bearer,
// kind), or a *MissingRuleError (errors.Is ErrMissingRule).
func (c *Chart) Resolve(law payrun.Law, comp payrun.Component, bearer payrun.CostBearer, kind AccountKind) (*Assignment, error) {
	s := slot(law, comp, bearer, kind)
	if s < 0 || c.slots[s] == 0 {
		return nil, &MissingRuleError{Municipality: c.municipality, Law: law, Component: comp, CostBearer: bearer, Kind: kind}
	}
	return &c.assign[c.slots[s]-1], nil
}

// RequiredKinds returns the two account kinds a line of kind k and
// component comp is booked on: first the side that takes the amount
// (expense, or revenue for an offset), then the counter account (payable
// for payments, receivable for overpayments).
func RequiredKinds(k payrun.LineKind, comp payrun.Component) (main, counter AccountKind) {
	main = KindExpense
	if comp == payrun.CompOffset {
		main = KindRevenue
	}
	counter = KindPayable
	if k == payrun.LineOverpayment {
		counter = KindReceivable
	}
	return main, counter
}

// Check reports whether the chart can book l: both accounts of
// RequiredKinds exist.
func (c *Chart) Check(l *Line) error {
	main, counter := RequiredKinds(l.Kind, l.Component)
	if _, err := c.Resolve(l.Law, l.Component, l.CostBearer, main); err != nil {
		return err
	}
	_, err := c.Resolve(l.Law, l.Component, l.CostBearer, counter)
	return err
}

// Validate reports every rule missing for (law, component, cost bearer)
// that any line of that key could need, payment or overpayment alike:
// expense or revenue, payable and receivable. The run code calls it for
// each key of a run before creating the run; the error joins one
// *MissingRuleError per missing kind.
func (c *Chart) Validate(law payrun.Law, comp payrun.Component, bearer payrun.CostBearer) error {
	var errs []error
	for _, k := range []payrun.LineKind{payrun.LinePayment, payrun.LineOverpayment} {
		main, counter := RequiredKinds(k, comp)
		for _, kind := range []AccountKind{main, counter} {
			if k == payrun.LineOverpayment && kind == main {
				continue // same as for payments
			}
			if _, err := c.Resolve(law, comp, bearer, kind); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// ValidateAll runs Validate for every law, component and the law's cost
// bearer (payrun.Law.CostBearer), the full check for a chart before it is
// used.
func (c *Chart) ValidateAll() error {
	var errs []error
	for _, l := range payrun.Laws {
		for _, comp := range payrun.Components {
			if err := c.Validate(l, comp, l.CostBearer()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

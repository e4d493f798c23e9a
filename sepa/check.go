package sepa

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxProblems is the number of problems a Report lists; further ones are
// only counted in Report.Omitted.
const MaxProblems = 1000

// Problem is one rule violation found by Check.
type Problem struct {
	Path    string `json:"path"`    // e.g. /Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[3]/Amt/InstdAmt
	Rule    string `json:"rule"`    // short rule name, e.g. "iban", "ctrlsum", "uetr"
	Message string `json:"message"` // what is wrong, with the value
}

func (p Problem) String() string { return p.Path + ": " + p.Rule + ": " + p.Message }

// Report is the result of Check: the totals found in the file (so callers
// can reconcile them) and every problem.
type Report struct {
	MsgID        string
	PaymentInfos int
	Instant      bool // at least one transaction is SCT Inst
	// Transactions and CtrlSum (cents) are counted and summed over the
	// CdtTrfTxInf elements; the Declared* values are those of GrpHdr.
	Transactions         int
	CtrlSum              int64
	DeclaredTransactions int
	DeclaredCtrlSum      int64
	Problems             []Problem
	Omitted              int // problems beyond MaxProblems, not listed
}

// OK reports whether the file has no problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// MarshalJSON writes amounts as decimal strings ("1234.56").
func (r *Report) MarshalJSON() ([]byte, error) {
	problems := r.Problems
	if problems == nil {
		problems = []Problem{}
	}
	return json.Marshal(struct {
		OK                   bool      `json:"ok"`
		MsgID                string    `json:"msg_id"`
		PaymentInfos         int       `json:"payment_infos"`
		Instant              bool      `json:"instant"`
		Transactions         int       `json:"transactions"`
		CtrlSum              string    `json:"ctrl_sum"`
		DeclaredTransactions int       `json:"declared_transactions"`
		DeclaredCtrlSum      string    `json:"declared_ctrl_sum"`
		Problems             []Problem `json:"problems"`
		Omitted              int       `json:"omitted,omitempty"`
	}{r.OK(), r.MsgID, r.PaymentInfos, r.Instant, r.Transactions, FormatAmount(r.CtrlSum),
		r.DeclaredTransactions, FormatAmount(r.DeclaredCtrlSum), problems, r.Omitted})
}

// Check reads a pain.001.001.09 message from r as a stream and checks the
// DK business rules the XSDs do not (or, with xmllint, cannot) enforce:
// namespace; NbOfTxs and CtrlSum of GrpHdr and every PmtInf against the
// transactions; amount format and range; IBAN check digits; BIC format;
// identifier charset and length; unique MsgId/PmtInfId/EndToEndId
// (NOTPROVIDED excepted); SvcLvl SEPA; PmtTpInf at exactly one level;
// ChrgBr SLEV; no UETR; no LclInstrm/Prtry; LclInstrm only INST; no SCT/Inst
// mixing; DtTm only with INST and with a UTC offset; no unstructured
// (AdrLine-only) addresses; text fields in the DK set and within lengths.
// It is not an XSD validator: run xmllint against the schemas as well.
//
// Malformed XML is reported as a problem (rule "xml", worded as
// encoding/xml words it), after which checking stops. The error is non-nil
// only when reading r fails.
func Check(r io.Reader) (*Report, error) {
	c := newChecker()
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		c.problem("/", "bom", "file starts with a byte order mark (DK: UTF-8 without BOM)")
		_, _ = br.Discard(3)
	}
	if err := c.run(br); err != nil {
		return &c.rep, err
	}
	return &c.rep, nil
}

// frame is one open element.
type frame struct {
	name string
	idx  int // 1-based index for PmtInf and CdtTrfTxInf, else 0
	node *pathNode
}

// pathNode is one distinct element path: its path below
// /Document/CstmrCdtTrfInitn (rel) and the paths of its children, found
// by the child's interned name. A file has few distinct paths, so the
// checker looks each one up in a short list instead of building strings.
type pathNode struct {
	rel  string
	kids []pathKid
}

type pathKid struct {
	name *xmlName
	node *pathNode
}

// maxPathNodes bounds the path trie (a hostile file could have endless
// distinct paths); beyond it paths are built per element.
const maxPathNodes = 4096

// child returns the node of element name below n.
func (c *checker) child(n *pathNode, name *xmlName, depth int) *pathNode {
	for _, k := range n.kids {
		if k.name == name {
			return k.node
		}
	}
	rel := n.rel
	if depth > 2 {
		if rel != "" {
			rel += "/"
		}
		rel += name.local
	}
	kid := &pathNode{rel: rel}
	if c.nodes < maxPathNodes {
		c.nodes++
		n.kids = append(n.kids, pathKid{name, kid})
	}
	return kid
}

type pmtState struct {
	id                   string
	hasNb, hasSum        bool
	nb                   int
	sum                  int64
	txs                  int
	txSum                int64
	tpInf, instant, dtTm bool
}

type txState struct {
	e2e            string
	tpInf, instant bool
	hasAmt         bool
	hasCdtrNm      bool
	ustrd          int
}

type adrState struct {
	lines       int
	town, cntry bool
}

type checker struct {
	rep   Report
	stack []frame
	top   pathNode // the node above the root element
	nodes int
	rel   string // path below /Document/CstmrCdtTrfInitn, e.g. "PmtInf/CdtTrfTxInf/Amt/InstdAmt"
	text  []byte
	ccy   string

	pmtN, txN      int
	pmt            pmtState
	tx             txState
	adr            adrState
	hdrNb, hdrSum  bool
	sawInst, sawCT bool
	pmtIDs         map[string]int      // PmtInfId → PmtInf index
	e2eIDs         map[string][2]int32 // EndToEndId → PmtInf, CdtTrfTxInf index
	root           bool                // no element seen yet
	stopped        bool                // the root was wrong: checking stopped
}

func newChecker() *checker {
	return &checker{root: true, pmtIDs: make(map[string]int), e2eIDs: make(map[string][2]int32)}
}

func (c *checker) run(r io.Reader) error {
	err := newXMLScanner(r).scan(c)
	var syn *xml.SyntaxError
	var decl declError
	switch {
	case c.stopped:
		return nil
	case errors.As(err, &syn) || errors.As(err, &decl):
		c.problem(c.path(), "xml", "not well-formed XML: "+err.Error())
		return nil
	case err != nil:
		return fmt.Errorf("sepa: check: read: %w", err)
	case c.root:
		c.problem("/", "xml", "no root element")
		return nil
	}
	c.finish()
	return nil
}

// open is a start tag: the root must be Document in the pain.001.001.09
// namespace (else checking stops).
func (c *checker) open(name *xmlName, space, ccy string) bool {
	if c.root {
		c.root = false
		if name.local != "Document" || space != Namespace {
			c.problem("/"+name.local, "namespace",
				fmt.Sprintf("root must be Document in namespace %s, got %s in %q", Namespace, name.local, space))
			c.stopped = true
			return false
		}
	}
	c.start(name, ccy)
	return true
}

// close is an end tag.
func (c *checker) close() { c.end() }

// chars is character data.
func (c *checker) chars(b []byte) { c.text = append(c.text, b...) }

func (c *checker) push(name *xmlName, idx int) {
	parent := &c.top
	if n := len(c.stack); n > 0 {
		parent = c.stack[n-1].node
	}
	node := c.child(parent, name, len(c.stack)+1)
	c.stack = append(c.stack, frame{name.local, idx, node})
	c.rel = node.rel
}

func (c *checker) pop() {
	n := len(c.stack) - 1
	c.stack = c.stack[:n]
	c.rel = ""
	if n > 0 {
		c.rel = c.stack[n-1].node.rel
	}
}

// path returns the current location with PmtInf/CdtTrfTxInf indices.
func (c *checker) path() string {
	var b strings.Builder
	for _, f := range c.stack {
		b.WriteByte('/')
		b.WriteString(f.name)
		if f.idx > 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.idx))
			b.WriteByte(']')
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func (c *checker) problem(path, rule, msg string) {
	if len(c.rep.Problems) >= MaxProblems {
		c.rep.Omitted++
		return
	}
	if c.tx.e2e != "" && strings.Contains(path, "/CdtTrfTxInf[") {
		msg += fmt.Sprintf(" (EndToEndId %q)", c.tx.e2e)
	}
	c.rep.Problems = append(c.rep.Problems, Problem{Path: path, Rule: rule, Message: msg})
}

func (c *checker) here(rule, format string, args ...any) {
	c.problem(c.path(), rule, fmt.Sprintf(format, args...))
}

func (c *checker) start(xn *xmlName, ccy string) {
	c.text = c.text[:0]
	name := xn.local
	idx := 0
	depth := len(c.stack)
	switch {
	case depth == 2 && name == "PmtInf":
		c.pmtN++
		c.txN = 0
		idx = c.pmtN
		c.pmt = pmtState{}
		c.rep.PaymentInfos++
	case depth == 3 && name == "CdtTrfTxInf" && c.stack[2].name == "PmtInf":
		c.txN++
		idx = c.txN
		c.tx = txState{}
		c.rep.Transactions++
	case name == "PstlAdr":
		c.adr = adrState{}
	case name == "InstdAmt":
		c.ccy = ccy
	}
	c.push(xn, idx)
	switch c.rel {
	case "PmtInf/PmtTpInf":
		c.pmt.tpInf = true
	case "PmtInf/CdtTrfTxInf/PmtTpInf":
		c.tx.tpInf = true
	}
	switch name {
	case "UETR":
		c.here("uetr", "UETR must not be used (GBIC_5)")
	case "Prtry":
		if depth > 0 && c.stack[depth-1].name == "LclInstrm" {
			c.here("lclinstrm", "LclInstrm/Prtry is not allowed (GBIC_5); use Cd INST")
		}
	}
}

func (c *checker) end() {
	if len(c.stack) == 0 {
		return
	}
	text := string(c.text)
	c.text = c.text[:0]
	c.endElement(text)
	c.pop()
}

package store

import (
	"fmt"
	"math/big"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/payrun/payrun/payrun"
)

// Amount adapts payrun.Cents to SQL numeric exactly: pass Amount(c) as a
// query argument and scan into (*Amount)(&c). It implements pgx's
// NumericValuer and NumericScanner, so no float is ever involved.
type Amount payrun.Cents

// NumericValue returns c as a numeric with two decimals.
func (a Amount) NumericValue() (pgtype.Numeric, error) {
	return pgtype.Numeric{Int: big.NewInt(int64(a)), Exp: -2, Valid: true}, nil
}

// ScanNumeric sets a from n; it fails on NULL, NaN, infinities, fractions
// of a cent and amounts beyond int64 cents.
func (a *Amount) ScanNumeric(n pgtype.Numeric) error {
	if !n.Valid {
		return fmt.Errorf("store: amount is NULL")
	}
	if n.NaN || n.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("store: amount is not a finite number")
	}
	v := new(big.Int).Set(n.Int)
	switch exp := n.Exp + 2; {
	case exp > 0:
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	case exp < 0:
		q, r := new(big.Int).QuoRem(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-exp)), nil), new(big.Int))
		if r.Sign() != 0 {
			return fmt.Errorf("store: amount %s×10^%d has fractions of a cent", n.Int, n.Exp)
		}
		v = q
	}
	if !v.IsInt64() {
		return fmt.Errorf("store: amount out of range")
	}
	*a = Amount(v.Int64())
	return nil
}

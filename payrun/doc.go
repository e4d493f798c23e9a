// Package payrun holds the domain of the payment-run processor: the values
// that every other package speaks in (money in exact cents, civil dates and
// months, decisions as imported, laws, components, payees, cost bearers,
// run states and roles) and the errors they return.
//
// It imports nothing but the standard library and shopspring/decimal. It does
// no I/O, reads no clock and logs nothing: storage lives in payrun/store,
// the calculation core in payrun/calc, bank files in the top-level sepa
// package.
package payrun

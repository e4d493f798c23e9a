// Package calc is the calculation core of payrun: what each month of a case
// is worth, to the cent, and what a run must pay or record to get there.
//
// It is pure: values in, values out. No database, no clock, no logger, no
// globals, no floats; money is exact integer cents (payrun.Cents), dates are
// day numbers (payrun.Date). Decimal strings are parsed and formatted at the
// edges, never here. A Calculator reuses its buffers, so computing a case
// allocates nothing in the steady state.
//
// # Rules and where they come from
//
// The rules are CONTRACT.md §3; the background is DOMAIN.md.
//
//   - Supersession (CONTRACT.md §2): a decision listed in another's
//     supersedes ends the day before the other's valid_from; if that is
//     before its own start it vanishes. Other overlaps are errors.
//   - Factor (§3.1; DOMAIN.md §4, § 41 Abs. 1 SGB II, § 3 Abs. 5 AsylbLG): 1
//     if the decision covers the whole calendar month (28 to 31 days),
//     otherwise min(days, 30)/30. Policy.SGB12ActualDays switches sgb12_3,
//     sgb12_4 and asylblg_2 to days/days-in-month (§ 27a Abs. 3 SGB XII
//     names no basis).
//   - Rates (§3.2; DOMAIN.md §§1, 2): the row of the law's table
//     (payrun.Law.RateTable) with the latest valid_from on or before the
//     first covered day; no such row is an error (ErrNoRate). regular = Σ
//     the persons' rates, or Σ fixed_amount under asylblg_1a (DOMAIN.md
//     §2.3: no published amounts).
//   - Extra needs (§3.2; DOMAIN.md §3): percent × base / 100 rounded half-up
//     per need; base is needs level 1 of the same table for single_parent
//     (§ 30 Abs. 3 SGB XII), the person's own level for pregnancy, disability
//     and warm_water; fixed amounts as given. asylblg_3 and asylblg_1a accept
//     only fixed (DOMAIN.md §2.1: § 3 AsylbLG knows no Mehrbedarf).
//   - Child supplement (§3.2; DOMAIN.md §1, § 145 SGB XII, § 16 AsylbLG):
//     per person under 18 on the 1st of the month, the Sofortzuschlag valid
//     on that day; none under asylblg_1a, none before its first row. A child
//     listed but born later in the month counts as under 18.
//   - Rounding (§3.3; DOMAIN.md §4, § 41 Abs. 2 SGB II): each component ×
//     factor is rounded half-up once. Policy.RoundDailyRateFirst rounds
//     monthly/basis first and multiplies by the days; Policy.
//     FullChildSupplement leaves the supplement unscaled.
//   - Income (§3.4): taken off regular, extra, child_supplement, heating,
//     rent in that order, none below zero; income beyond that is unused. It
//     appears as a negative income component on each payee, equal to what
//     was taken from that payee's components.
//   - Payees (§3.5): the landlord gets rent and heating when pay_to is
//     landlord, the beneficiary the rest.
//   - Offset (§3.5; DOMAIN.md §6): a negative offset component on the
//     beneficiary, at most the monthly amount (per reclaim and month, across
//     segments), what is left of remaining after what was set off elsewhere
//     (CaseInput.OffsetTaken less the paid offsets of the months computed)
//     and in earlier months (computed in ascending order), and the
//     beneficiary's amount after income.
//   - Two decisions in one month each contribute their own factor-scaled
//     amounts; merged per (payee, component), a line carries the latest
//     contributing decision's id, law and cost bearer.
//   - Cost bearer (DOMAIN.md §7): payrun.Law.CostBearer.
//   - Netting (§3.6; ARCHITECTURE.md): per month and payee, diff = due −
//     paid per component (offsets per reclaim). Σ diff > 0: payment lines;
//     Σ diff < 0: overpayment lines (a receivable, never paid out or set
//     off); Σ diff = 0 with components that changed: payment lines that
//     reclassify. No zero lines. Netting with the lines added to Paid gives
//     nothing: Σ live lines per key = due.
//
// # Calling it
//
// Build Rates once per run (NewRates), a Calculator per goroutine, and call
// Case per case with all its decisions, the months to recompute (From should
// reach back to the earliest month a new or superseding decision touches, so
// that retroactive changes surface as arrears or overpayments), Paid (Σ live
// lines per month, payee, component and, for offsets, reclaim id) and
// OffsetTaken. Due gives a month's gross amounts, Explain how they came
// about; PersonMonths counts persons per law and month for the FlüAG report
// (DOMAIN.md §7).
//
// Offsets: remaining is read as what may be set off in total through
// payrun for that reclaim; set-offs already made in live runs outside the
// months computed are subtracted (OffsetTaken minus the paid offsets of the
// months computed, which are recomputed). A follow-up decision should
// therefore repeat the reclaim's remaining, not lower it by what payrun has
// already set off. Paid offsets without a reclaim id are attributed to the
// case's reclaim when it has exactly one.
package calc

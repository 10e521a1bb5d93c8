// Package domain is parcelbot's business: orders, shipments, customers,
// memberships, lockers and cases, and the support policies (compensation
// limits, password validity, auto-approval, locker ranking) as plain
// functions over them. It imports nothing of the project and does no I/O.
package domain

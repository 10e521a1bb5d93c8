// Package locales holds every word a customer sees, one YAML file per
// language (en, de, fr, it), embedded in the binary. The dialog package's
// Catalog parses and renders them; docs/locales.md describes the format.
package locales

import "embed"

// FS holds the embedded locale files, named <lang>.yaml.
//
//go:embed *.yaml
var FS embed.FS

// AgentFS holds what agents read in Slack, agent/<lang>.yaml: not the
// customer's words, but in the same four languages and checked the same
// way, so that a German team works in German.
//
//go:embed agent/*.yaml
var AgentFS embed.FS

// Package detect is Vigil's Sigma detection engine. It owns loading Sigma
// rules (YAML, SigmaHQ layout, from a directory or an fs.FS) into a
// compiled form and matching events against them.
//
// Loading: ParseRule compiles one rule — condition parsed into an
// expression tree, regular expressions compiled, modifiers applied to the
// values — once. Everything the engine cannot evaluate faithfully is a
// load error naming the reason; nothing is silently ignored. ParseRule
// returns ErrCorrelation for a correlation rule, which ParseCorrelation
// compiles instead; LoadFS does both.
//
// Supported: selections as maps (AND), lists of maps (OR) and keyword
// lists; conditions with and, or, not, parentheses, "1 of", "any of",
// "all of" over name patterns and "them" (which leaves out names starting
// with "_"); a list of conditions means any of them; modifiers contains,
// startswith, endswith, all, re with i, m and s, base64, base64offset,
// utf16le, utf16be, utf16, wide, windash, cidr, lt, lte, gt, gte, exists,
// cased and fieldref (alone or with contains/startswith/endswith);
// wildcards * and ? with backslash escaping; null; numbers and booleans
// compared by their text. Matching is case-insensitive unless cased is
// given; re is case-sensitive unless i is given; the output of base64 and
// base64offset is compared case-sensitively. Keywords match inside any
// value of the event.
//
// Not supported (load errors): expand unless a pipeline's
// value_placeholders fills it in,
// aggregations in conditions ("| count() ..."), regular expressions RE2
// cannot run (look-around, back-references), multi-document rule files,
// nested mappings, encoding modifiers on values with wildcards, more than
// four word-leading dashes under windash.
//
// Correlation rules (Sigma correlation specification 2.x): types
// event_count, value_count, temporal, temporal_ordered, value_sum and
// value_avg; rules referenced by id or name; group-by (optional), aliases,
// timespan with s, m, h or d; conditions gt, gte, lt, lte, eq and neq,
// several meaning all of them; field for value_count, value_sum and
// value_avg; generate; chained correlations (a correlation referring to
// another sees the group-by values of its alerts). References are bound
// after the whole set is loaded (LoadResult.Resolve); unknown or ambiguous
// references, cycles and chains grouping by values the referenced
// correlation does not produce are load errors. Not supported (load
// errors): value_percentile, value_median, a condition on
// temporal_ordered. A Correlator evaluates resolved correlations over
// time-ordered matches with bounded in-memory state; see Correlator and
// EventTime. Correlator.Snapshot and Restore carry the state over a
// restart; a Service keeps it per tenant in the store (see Service).
//
// Processing pipelines (pySigma's pipeline YAML: field name mapping,
// prefix mapping, added conditions, logsource changes, string replacement,
// dropped detection items, placeholder values) transform a rule between
// decoding and compiling; see ParsePipeline, PipelineSet and
// DefaultPipeline, which maps Sigma field names onto the ECS-style names
// of Vigil's events.
//
// A Service is the detection content of a running node: the built-in
// rules, each tenant's rule settings (enabled or not) and custom rules
// (validated, errors with their YAML line), "test this rule" over sample
// events, and each tenant's correlation state, saved to the store on an
// interval and at shutdown and restored at start.
//
// Events and logsource routing are described at NewEvent. An Engine
// groups rules by logsource and runs, per event field, an Aho-Corasick
// automaton over literals every match needs before evaluating a rule in
// full; MatchNaive is the unindexed reference.
package detect

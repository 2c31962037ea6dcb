// Package sigma is a Sigma rule engine that evaluates rules on a stream of
// audit records, in flight: detection rules, Sigma v2 / 2.1 correlation rules
// and Sigma filters.
//
// Rules are read once (Load, Compile), validated one by one (a bad rule is
// reported with its file, line and reason and never stops the good ones), and
// compiled into matchers: strings are folded and wildcards classified once,
// regular expressions compiled once, and every rule indexed by its cheapest
// discriminating equality (an Operation or event name, usually), so that a
// record meets only the rules that can match it. Evaluate then reads one
// record's already-decoded body, its attributes and its normalised view.
//
// Semantics follow the Sigma specification v2.0 (rules, filters) and 2.1
// (modifiers, metric correlations). Where the specification leaves a choice
// to the tool, this engine decides as follows:
//
//   - Field names resolve through a per-source field mapping (config.go) to
//     record locations: dotted paths into the vendor body, the normalised
//     attributes (audit.*, user.name, client.address...) read from the view,
//     other log attributes, and computed fields (@google.service). A name
//     mapped to several locations reads all of them: it matches when any of
//     their values matches. Path segments match keys exactly first, then
//     case-insensitively, because vendors and rule authors disagree on case.
//   - Arrays are searched element by element; an array of {Name, Value}
//     pairs (O365 Parameters, ExtendedProperties; Google parameters) is also
//     addressable by the pair's name: ExtendedProperties.RequestType. A path
//     that ends on an object or array matches against every scalar inside it,
//     and an empty one reads as "[]" or "{}".
//   - null matches a field that is absent or null, and stands alone: null
//     inside a list of values is rejected, as the specification requires.
//     exists checks presence only. A field with no value matches no value;
//     neq negates its item as pySigma does, so an absent field matches it.
//   - Numbers compare as numbers when both sides are numbers, otherwise as
//     text, since Sigma treats every value as a string.
//   - Keywords (lists without a field) match any scalar of the body, as a
//     substring.
//   - A correlation whose condition only grows true as events are added
//     (gt or gte of event_count, value_count, value_sum, temporal,
//     temporal_ordered) fires on the record that completes it, judged on
//     the window that ends at each of the group's events (a burst of 30
//     failures against "gte: 10" fires for each window from the 10th
//     failure on; the processor tags each identity once). Records arriving
//     out of order are placed in time order and complete the windows of the
//     events after them; those further behind the group's newest event than
//     the allowed lateness are dropped and counted.
//   - Any other condition (lt, lte, eq, neq, ranges, value_avg,
//     value_percentile) is decided as a SIEM's scheduled query over the
//     window would decide it: once per group and epoch-aligned window of
//     the timespan, over all the group's events in it, when the stream's
//     newest event time less the allowed lateness has passed the window's
//     end (window.go). Such a correlation counts detection rules only.
//   - Event time is the record's own time. Events lacking a group-by field
//     are not correlated (and counted). Distinct values (value_count)
//     compare case-insensitively. value_percentile, which the specification
//     leaves undefined beyond its example, is in that form the share in
//     percent of the window's events that each value has ("lte: 1": a value
//     at most 1% of the events); with pySigma's "percentile: P" it is the
//     P-th percentile (nearest rank) of the field's numbers, compared with
//     the threshold. temporal_ordered counts equal timestamps as in order,
//     since vendors record seconds.
//   - Rules referenced by a correlation report on their own only when a
//     referencing correlation says generate: true, as pySigma does.
//   - A rule that names no logsource applies to every source. A Sigma filter
//     applies to the rules it lists (rules: any, all or [] is every rule)
//     whose logsource its own contains, as pySigma decides; a listed rule
//     of another logsource is left alone and noted in the load report. A
//     filtered rule matches only when the filter's condition does not, as
//     the specification's example ("Filter Administrator account",
//     condition: selection) reads.
//
// An Engine is not safe for concurrent use: the processor serialises batches,
// and correlation state must see one stream.
package sigma // import "github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/sigma"

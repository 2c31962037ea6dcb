package filesource // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"

// Layout is how a file holds its records, as the source found it: the
// structure around the records, whatever the records themselves hold. A file
// whose records are broken JSON keeps the layout of the structure around
// them (a Graph page with an invalid record is a graph_page): the scanner
// finds records without decoding them, and a record it cannot decode is
// passed on with audit.parse_error.
//
// A JSON file's layout is its first top-level value's, except that a single
// object followed by any other value makes json_lines; it is known once the
// scanner has seen enough (the end of the first record, or an envelope's
// key). A CSV file's layout is its header's. The layout is kept in the
// file's checkpoint and logged at info level when it is first known, and
// again if it changes (a file that grows from one object into lines).
type Layout string

const (
	// LayoutJSONLines is top-level values one after another: JSON lines,
	// concatenated objects, and lines that are not JSON at all.
	LayoutJSONLines Layout = "json_lines"
	// LayoutSingleObject is one top-level object, on one line or
	// pretty-printed: the file is one record.
	LayoutSingleObject Layout = "single_object"
	// LayoutJSONArray is a top-level array of records (an O365 content
	// blob).
	LayoutJSONArray Layout = "json_array"
	// LayoutGraphPage is an object whose "value" array holds the records
	// (a Microsoft Graph page).
	LayoutGraphPage Layout = "graph_page"
	// LayoutAzureMonitorRecords is an object whose "records" array holds the
	// records (an Azure Monitor export, an Event Hub message).
	LayoutAzureMonitorRecords Layout = "azure_monitor_records"
	// LayoutReportsPage is an object whose "items" array holds the records
	// (a Google Reports API page).
	LayoutReportsPage Layout = "reports_page"
	// LayoutPurviewCSVRecordID is a Purview audit search export: its header
	// has a RecordId column.
	LayoutPurviewCSVRecordID Layout = "purview_csv_recordid_header"
	// LayoutPurviewCSVCreationDate is the older compliance-portal and
	// Search-UnifiedAuditLog export: CreationDate, UserIds, Operations and
	// AuditData columns, no RecordId.
	LayoutPurviewCSVCreationDate Layout = "purview_csv_creationdate_header"
	// LayoutPurviewCSV is any other CSV header with an AuditData column.
	LayoutPurviewCSV Layout = "purview_csv"
	// layoutUnknown is a file whose reading resumed from a checkpoint saved
	// before layouts were kept: what was read before is not known, so the
	// layout is not guessed from the rest.
	layoutUnknown Layout = "unknown"
)

// envelopeLayout is the layout of an envelope object whose key holds the
// records.
func envelopeLayout(key string) Layout {
	switch key {
	case "value":
		return LayoutGraphPage
	case "records":
		return LayoutAzureMonitorRecords
	}
	return LayoutReportsPage
}

// known reports whether the layout says something worth telling.
func (l Layout) known() bool { return l != "" && l != layoutUnknown }

package sigma

import (
	"errors"
	"fmt"
	"strings"
)

// Config is the sigma block of the processor configuration.
type Config struct {
	// Rules are rule files, folders (read recursively for *.yml and *.yaml)
	// and globs (filepath.Match syntax).
	Rules []string `mapstructure:"rules"`
	// FailOnError makes any rule error fatal; by default a bad rule is
	// reported and skipped, and the good ones load.
	FailOnError bool `mapstructure:"fail_on_error"`
	// Placeholders are the values of %name% placeholders (expand modifier).
	// Names are case-sensitive, as in the rules.
	Placeholders map[string][]string `mapstructure:"placeholders"`
	// FieldMapping adds to and overrides DefaultFieldMapping: for a source
	// and Sigma field name, a later entry replaces an earlier one.
	FieldMapping []FieldMapping `mapstructure:"field_mapping"`
	// LogsourceMapping adds to DefaultLogsourceMapping; an entry with the
	// same category, product and service as a default replaces it.
	LogsourceMapping []LogsourceMapping `mapstructure:"logsource_mapping"`
	// MaxFileBytes rejects larger rule files unread (default 1 MiB; the
	// largest SigmaHQ rule is under 50 KiB).
	MaxFileBytes int64 `mapstructure:"max_file_bytes"`
	// Correlation bounds the state of correlation rules.
	Correlation CorrelationLimits `mapstructure:"correlation"`
}

// FieldMapping says where a Sigma field name's values are in the records of
// some sources.
type FieldMapping struct {
	// Sources are audit.source values; none means every source.
	Sources []string `mapstructure:"sources"`
	// Fields maps a Sigma field name (matched case-insensitively) to record
	// locations, all of which are read: body paths (a.b.c, {Name,Value}
	// arrays addressable by name), normalised attributes (audit.operation,
	// user.name, ...), other log attributes, or computed fields
	// (@google.service).
	Fields map[string][]string `mapstructure:"fields"`
	// Prefixes are tried, in order, before the name of a field that Fields
	// does not map ("" is the name as written).
	Prefixes []string `mapstructure:"prefixes"`
}

// LogsourceMapping sends the rules of one Sigma logsource to the records of
// one source.
type LogsourceMapping struct {
	Category string `mapstructure:"category"`
	Product  string `mapstructure:"product"`
	Service  string `mapstructure:"service"`
	// Source is the audit.source value of the records the rules apply to.
	Source string `mapstructure:"source"`
	// Where narrows those records further: each field (a record location, as
	// in FieldMapping) must equal one of the values, case-insensitively.
	Where map[string][]string `mapstructure:"where"`
}

// CorrelationLimits bound correlation state: memory stays proportional to
// MaxGroups × MaxEventsPerGroup per correlation rule whatever the input.
type CorrelationLimits struct {
	// MaxGroups caps the group-by keys held per correlation rule; the least
	// recently seen group is evicted (and counted) beyond it. Default 10000.
	MaxGroups int `mapstructure:"max_groups"`
	// MaxEventsPerGroup caps the events one group holds within its timespan;
	// the oldest is dropped (and counted) beyond it. Default 1000.
	MaxEventsPerGroup int `mapstructure:"max_events_per_group"`
}

const (
	defaultMaxFileBytes      = 1 << 20
	defaultMaxGroups         = 10_000
	defaultMaxEventsPerGroup = 1_000
)

// Validate checks the block and says how to fix it; keys are named relative
// to the sigma block.
func (cfg *Config) Validate() error {
	var errs []error
	for i, r := range cfg.Rules {
		if strings.TrimSpace(r) == "" {
			errs = append(errs, fmt.Errorf("rules[%d]: empty path; name a rule file, a folder or a glob", i))
		}
	}
	for name, values := range cfg.Placeholders {
		if len(values) == 0 {
			errs = append(errs, fmt.Errorf("placeholders.%s: give at least one value (a rule expanding it would match nothing)", name))
		}
	}
	for i, m := range cfg.FieldMapping {
		for name, locations := range m.Fields {
			if len(locations) == 0 || slicesHasEmpty(locations) {
				errs = append(errs, fmt.Errorf("field_mapping[%d].fields.%s: list one or more record locations, e.g. [Operation] or [events.parameters.SETTING_NAME]", i, name))
			}
		}
	}
	for i, m := range cfg.LogsourceMapping {
		if m.Source == "" {
			errs = append(errs, fmt.Errorf("logsource_mapping[%d].source: required; the audit.source value the rules apply to, e.g. o365", i))
		}
		if m.Category == "" && m.Product == "" && m.Service == "" {
			errs = append(errs, fmt.Errorf("logsource_mapping[%d]: give at least one of category, product, service", i))
		}
	}
	if cfg.MaxFileBytes < 0 {
		errs = append(errs, fmt.Errorf("max_file_bytes: must be positive (default 1048576)"))
	}
	if cfg.Correlation.MaxGroups < 0 || cfg.Correlation.MaxEventsPerGroup < 0 {
		errs = append(errs, fmt.Errorf("correlation: max_groups and max_events_per_group must be positive (defaults 10000 and 1000)"))
	}
	return errors.Join(errs...)
}

func slicesHasEmpty(s []string) bool {
	for _, v := range s {
		if strings.TrimSpace(v) == "" {
			return true
		}
	}
	return false
}

func (cfg Config) withDefaults() Config {
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = defaultMaxFileBytes
	}
	if cfg.Correlation.MaxGroups <= 0 {
		cfg.Correlation.MaxGroups = defaultMaxGroups
	}
	if cfg.Correlation.MaxEventsPerGroup <= 0 {
		cfg.Correlation.MaxEventsPerGroup = defaultMaxEventsPerGroup
	}
	return cfg
}

// DefaultLogsourceMapping maps SigmaHQ's logsource names for the clouds we
// receive to our sources. Logsources it does not name (azure pim, windows,
// ...) leave their rules loaded but inactive.
func DefaultLogsourceMapping() []LogsourceMapping {
	googleApp := func(apps ...string) map[string][]string { return map[string][]string{"id.applicationName": apps} }
	return []LogsourceMapping{
		{Product: "azure", Service: "signinlogs", Source: "entra_signin"},
		{Product: "azure", Service: "auditlogs", Source: "entra_audit"},
		{Product: "azure", Service: "activitylogs", Source: "azure_activity"},
		{Product: "azure", Service: "riskdetection", Source: "entra_risk_detection"},
		{Product: "m365", Service: "audit", Source: "o365"},
		{Product: "m365", Service: "exchange", Source: "o365"},
		{Product: "m365", Service: "threat_management", Source: "o365"},
		// threat_detection rules read the same Security & Compliance alert
		// records as threat_management ones.
		{Product: "m365", Service: "threat_detection", Source: "o365"},
		{Product: "gcp", Service: "google_workspace.admin", Source: "google_workspace", Where: googleApp("admin")},
		// The Reports API files Cloud Logging's Login Audit events under two
		// applications (see googleService).
		{Product: "gcp", Service: "google_workspace.login", Source: "google_workspace", Where: googleApp("login", "user_accounts")},
	}
}

// DefaultFieldMapping maps the field names SigmaHQ's cloud rules use onto our
// records where the meaning is the same. The rules were written against SIEM
// tables, not raw vendor records: m365/audit mostly uses raw O365 names;
// m365/exchange and threat_management use eventSource/eventName/status;
// azure rules use Microsoft Sentinel's PascalCase columns, which are the
// Graph resource's properties (inside "properties" in the Azure Monitor
// shape); gworkspace rules use Cloud Logging names.
func DefaultFieldMapping() []FieldMapping {
	azure := []string{"entra_signin", "entra_audit", "azure_activity"}
	return []FieldMapping{
		{
			// Azure Monitor wraps the Graph resource in "properties".
			Sources:  azure,
			Prefixes: []string{"", "properties."},
		},
		{
			Sources: []string{"entra_signin"},
			Fields: map[string][]string{
				"ResultType":        {"resultType", "status.errorCode", "properties.status.errorCode"},
				"ResultDescription": {"resultDescription", "status.failureReason", "properties.status.failureReason"},
				// Sentinel's Status is the status object; rules compare it
				// with Success/failure and search its details.
				"Status":          {"audit.result", "status.failureReason", "status.additionalDetails", "properties.status.failureReason", "properties.status.additionalDetails"},
				"ClientApp":       {"clientAppUsed", "properties.clientAppUsed"},
				"Username":        {"userPrincipalName", "properties.userPrincipalName"},
				"Location":        {"geo.country.iso_code"},
				"IpAddress":       {"client.address"},
				"IPaddress":       {"client.address"},
				"callerIpAddress": {"client.address"},
			},
		},
		{
			Sources: []string{"entra_audit"},
			Fields: map[string][]string{
				// The older Azure AD Sigma taxonomy's message is the activity.
				"properties.message":  {"audit.operation"},
				"OperationName":       {"audit.operation"},
				"ActivityDisplayName": {"audit.operation"},
				"Status":              {"audit.result"},
			},
		},
		{
			Sources: []string{"azure_activity"},
			Fields: map[string][]string{
				"OperationNameValue":    {"operationName.value", "operationName"},
				"CategoryValue":         {"category.value", "category"},
				"ResourceProviderValue": {"resourceProviderName.value", "resourceProviderName"},
			},
		},
		{
			Sources: []string{"o365"},
			Fields: map[string][]string{
				// UserLoggedIn keeps RequestType among ExtendedProperties.
				"RequestType": {"RequestType", "ExtendedProperties.RequestType"},
				"eventSource": {"Workload"},
				// Alerts name themselves in Name; everything else in Operation.
				"eventName": {"Operation", "Name"},
				"status":    {"audit.result"},
			},
		},
		{
			// Rules name event parameters (setting_name, new_value) bare.
			// Collectors that split the events array write "events" or
			// "event" (Splunk) as one object; the API writes an array.
			Sources:  []string{"google_workspace"},
			Prefixes: []string{"", "events.parameters.", "event.parameters."},
			Fields: map[string][]string{
				"eventService":                          {"@google.service"},
				"protoPayload.serviceName":              {"@google.service"},
				"eventName":                             {"events.name", "event.name"},
				"protoPayload.metadata.event.eventName": {"events.name", "event.name"},
			},
		},
	}
}

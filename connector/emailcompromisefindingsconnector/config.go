package emailcompromisefindingsconnector // import "github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector"

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/incident"
)

// Config is the email_compromise_findings connector's configuration.
type Config struct {
	// QuietPeriod: records of one user and rule at most this far apart in
	// event time are one incident; a finding closes once no record within
	// this period after its last can still arrive.
	QuietPeriod time.Duration `mapstructure:"quiet_period"`
	// AllowedLateness is how far behind the newest event time seen a
	// record may still arrive (set it to the processor's
	// allowed_lateness): a finding is closed only when the newest event
	// time, less this, is past its last record by more than QuietPeriod.
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	// MaxEvidence caps the records a finding lists as evidence (the
	// earliest, in event time) and the evidence ids it names.
	MaxEvidence int `mapstructure:"max_evidence"`
	// Severities that open a finding. Records of other severities join a
	// finding that one of these opened, and open none themselves.
	Severities []string `mapstructure:"severities"`
	// OCSFVersion is written to metadata.version of every finding.
	OCSFVersion string `mapstructure:"ocsf_version"`
	// FlushInterval is how often changed findings are emitted and closed
	// ones found (wall clock; what closes is decided in event time).
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Storage is the id of a storage extension (e.g. file_storage) that
	// keeps the findings across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// State bounds the findings held.
	State StateConfig `mapstructure:"state"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// StateConfig bounds the findings held in memory.
type StateConfig struct {
	// MaxFindings caps the findings held; those that ended longest ago
	// are dropped first, closed ones before open ones.
	MaxFindings int `mapstructure:"max_findings"`
	// Retention: how long (in event time) past its last record a closed
	// finding is remembered, so that a very late or re-delivered record
	// updates it rather than opening another.
	Retention time.Duration `mapstructure:"retention"`
	// SnapshotInterval is how often the findings are written to storage
	// (they are also written at shutdown).
	SnapshotInterval time.Duration `mapstructure:"snapshot_interval"`
}

// Validate names the key and the fix of every error.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.QuietPeriod <= 0 {
		errs = append(errs, errors.New("quiet_period: must be a positive duration; e.g. 30m (records of one user and rule further apart are separate incidents)"))
	}
	if cfg.AllowedLateness < 0 {
		errs = append(errs, errors.New("allowed_lateness: must not be negative; use the processor's allowed_lateness, e.g. 24h (the default)"))
	}
	if cfg.MaxEvidence < 1 || cfg.MaxEvidence > 1000 {
		errs = append(errs, fmt.Errorf("max_evidence: %d is out of range; use 1 to 1000, e.g. 32 (the default)", cfg.MaxEvidence))
	}
	if len(cfg.Severities) == 0 {
		errs = append(errs, errors.New("severities: list the severities that open a finding, e.g. [medium, high, critical] (the default)"))
	}
	for i, s := range cfg.Severities {
		if incident.ParseSeverity(s) == 0 {
			errs = append(errs, fmt.Errorf("severities[%d]: %q is not a severity; use low, medium, high or critical", i, s))
		}
	}
	if !validOCSFVersion(cfg.OCSFVersion) {
		errs = append(errs, fmt.Errorf("ocsf_version: %q is not an OCSF release with Detection Finding; write 1.1.0 or later, e.g. 1.3.0 (the default)", cfg.OCSFVersion))
	}
	if cfg.FlushInterval <= 0 {
		errs = append(errs, errors.New("flush_interval: must be a positive duration; e.g. 1s (the default)"))
	}
	if cfg.State.MaxFindings <= 0 {
		errs = append(errs, errors.New("state.max_findings: must be positive; e.g. 100000 (the default)"))
	}
	if min := cfg.AllowedLateness + cfg.QuietPeriod; cfg.State.Retention < min {
		errs = append(errs, fmt.Errorf("state.retention: %s is shorter than allowed_lateness plus quiet_period (%s); a finding would be forgotten before it closes, so use at least that, e.g. 168h (the default)", cfg.State.Retention, min))
	}
	if cfg.State.SnapshotInterval <= 0 {
		errs = append(errs, errors.New("state.snapshot_interval: must be a positive duration; e.g. 1m (the default)"))
	}
	return errors.Join(errs...)
}

// validOCSFVersion accepts a release number "1.x.y" from 1.1.0 on: the
// Detection Finding class (2004) came with OCSF 1.1.0.
func validOCSFVersion(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || p != strconv.Itoa(x) {
			return false
		}
		n[i] = x
	}
	return n[0] == 1 && n[1] >= 1
}

// options are the tracker's options of cfg.
func (cfg *Config) options() incident.Options {
	o := incident.Options{
		QuietPeriod: cfg.QuietPeriod,
		Lateness:    cfg.AllowedLateness,
		Retention:   cfg.State.Retention,
		MaxEvidence: cfg.MaxEvidence,
		MaxFindings: cfg.State.MaxFindings,
	}
	for _, s := range cfg.Severities {
		o.Opens[incident.ParseSeverity(s)] = true
	}
	return o
}

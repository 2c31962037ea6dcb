package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// Config is the audit_log receiver's configuration: exported files and each
// vendor API are separate sources, each enabled by its own block, each with
// its own checkpoints in the one storage extension.
type Config struct {
	// Files is used when files.include lists at least one glob.
	Files FilesConfig `mapstructure:"files"`
	// The API blocks at the top level read one organisation, whose records
	// carry no tenant.name.
	APISourcesConfig `mapstructure:",squash"`
	// Tenants are further organisations read by the same receiver, each
	// with its own API blocks, credentials and checkpoints, its records
	// marked with its name.
	Tenants []TenantConfig `mapstructure:"tenants"`
	// StorageID names the storage extension (e.g. file_storage) that keeps
	// each file's read position and each API stream's cursor across
	// restarts. Without it the receiver works, but reads every file again
	// from its start, and every API from its initial lookback, after a
	// restart.
	StorageID *component.ID `mapstructure:"storage"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// APISourcesConfig are the vendor API blocks of one organisation, each
// enabled by its key: at the top level and in every tenant.
type APISourcesConfig struct {
	O365  configoptional.Optional[O365Config]  `mapstructure:"o365_management_api"`
	Graph configoptional.Optional[GraphConfig] `mapstructure:"graph_signins"`
	// GraphRisk reads Entra ID Protection's risk detections.
	GraphRisk configoptional.Optional[GraphRiskConfig] `mapstructure:"graph_risk_detections"`
	Google    configoptional.Optional[GoogleConfig]    `mapstructure:"google_workspace_reports"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// FilesConfig selects exported audit files. Their format (JSON lines, arrays,
// vendor page envelopes, Purview CSV, gzip) is detected per file.
type FilesConfig struct {
	// Include lists glob patterns (path/filepath syntax: no "**") of the files
	// to read.
	Include []string `mapstructure:"include"`
	// Exclude lists glob patterns of matched files to leave alone.
	Exclude []string `mapstructure:"exclude"`
	// PollInterval is how often the globs are matched again to find new files
	// and growth of known ones.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// MaxRecordBytes bounds one vendor record and so the memory a record can
	// take; a larger record is passed on as a parse error.
	MaxRecordBytes ByteSize `mapstructure:"max_record_bytes"`
	// BatchSize is the most records handed to the next consumer at once.
	BatchSize int `mapstructure:"batch_size"`
	// MaxBatchBytes cuts a batch once its records' raw bytes reach it, so a
	// batch holds less than MaxBatchBytes plus one record. It keeps what an
	// exporter sends in one request (a Kafka message, a gRPC message) below
	// that exporter's limit when records are large: 500 sends of a
	// newsletter, each 2 KB, are one user's 1 MB.
	MaxBatchBytes ByteSize `mapstructure:"max_batch_bytes"`
	// IncompleteRecordTimeout is how long a file that ends inside a record,
	// or inside a gzip stream, must stay unchanged before that end is passed
	// on as a parse error. A writer still at work (a line written in two
	// calls, a gzip writer between two blocks) completes it within that
	// time; an export cut short is reported once it has passed.
	IncompleteRecordTimeout time.Duration `mapstructure:"incomplete_record_timeout"`
	// TenantName, when set, is written as tenant.name on every record read
	// from the files, as on the records of a tenant's API blocks: files
	// are not per tenant, so a provider reads each tenant's exports with an
	// audit_log receiver of its own, which names the tenant here.
	TenantName string `mapstructure:"tenant_name"`

	// prevent unkeyed literal initialization
	_ struct{}
}

const (
	// minMaxRecordBytes keeps an oversized record's body (its first
	// previewBytes) within what a normal record may hold.
	minMaxRecordBytes = filesource.PreviewBytes
	// minMaxBatchBytes: smaller batches would hand on a record or two at a
	// time, each push paying the pipeline's per-batch cost.
	minMaxBatchBytes = 64 << 10
	// maxMaxRecordBytes is far above any vendor record; beyond it one record
	// could exhaust memory.
	maxMaxRecordBytes = 1 << 30
	// minPollInterval keeps an idle receiver from spinning on the disk.
	minPollInterval = 10 * time.Millisecond
)

var _ component.Config = (*Config)(nil)

// Validate checks every key and names the key and the fix in each error.
func (cfg *Config) Validate() error {
	var errs []error
	f := cfg.Files
	if len(f.Include) == 0 && !cfg.configured() && len(cfg.Tenants) == 0 {
		errs = append(errs, errNoSource)
	}
	errs = append(errs, validateGlobs("files.include", f.Include)...)
	errs = append(errs, validateGlobs("files.exclude", f.Exclude)...)
	if f.PollInterval < minPollInterval {
		errs = append(errs, fmt.Errorf("files.poll_interval: must be at least %s, got %s; e.g. 1s", minPollInterval, f.PollInterval))
	}
	if f.MaxRecordBytes < minMaxRecordBytes || f.MaxRecordBytes > maxMaxRecordBytes {
		errs = append(errs, fmt.Errorf("files.max_record_bytes: must be between 64KiB and 1GiB, got %d bytes; e.g. 16MiB", int64(f.MaxRecordBytes)))
	}
	if f.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("files.batch_size: must be at least 1, got %d; e.g. 500", f.BatchSize))
	}
	if f.MaxBatchBytes < minMaxBatchBytes || f.MaxBatchBytes > maxMaxRecordBytes {
		errs = append(errs, fmt.Errorf("files.max_batch_bytes: must be between 64KiB and 1GiB, got %d bytes; e.g. 2MiB (below what the exporter accepts in one request, see the README)", int64(f.MaxBatchBytes)))
	}
	if f.IncompleteRecordTimeout <= 0 {
		errs = append(errs, fmt.Errorf("files.incomplete_record_timeout: must be positive, got %s; e.g. 1m (longer than your slowest writer pauses inside a record)", f.IncompleteRecordTimeout))
	}
	if f.TenantName != "" && !tenantName.MatchString(f.TenantName) {
		errs = append(errs, fmt.Errorf("files.tenant_name: %q is not a tenant name: %s", f.TenantName, tenantNameRule))
	}
	errs = append(errs, cfg.APISourcesConfig.validate("")...)
	errs = append(errs, cfg.validateTenants()...)
	return errors.Join(errs...)
}

// validate checks the blocks that are set, each key named under prefix
// ("" at the top level, "tenants[i]." in a tenant).
func (c *APISourcesConfig) validate(prefix string) []error {
	var errs []error
	if b := c.O365.Get(); b != nil {
		errs = append(errs, b.validate(prefix+sourceO365)...)
	}
	if b := c.Graph.Get(); b != nil {
		errs = append(errs, b.validate(prefix+sourceGraph)...)
	}
	if b := c.GraphRisk.Get(); b != nil {
		errs = append(errs, b.validate(prefix+sourceGraphRisk)...)
	}
	if b := c.Google.Get(); b != nil {
		errs = append(errs, b.validate(prefix+sourceGoogle)...)
	}
	return errs
}

// configured reports whether at least one block is set.
func (c *APISourcesConfig) configured() bool {
	return c.O365.HasValue() || c.Graph.HasValue() || c.GraphRisk.HasValue() || c.Google.HasValue()
}

func validateGlobs(key string, globs []string) []error {
	var errs []error
	for i, g := range globs {
		if strings.TrimSpace(g) == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: glob is empty; remove it or give a pattern such as /var/log/o365/*.json", key, i))
			continue
		}
		if _, err := filepath.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not a valid glob (%v); check its brackets and escapes", key, i, g, err))
		}
	}
	return errs
}

// ByteSize is a size in bytes, written either as an integer or with a unit:
// B, KiB, MiB, GiB (powers of 1024) or KB, MB, GB (powers of 1000).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	// Two-letter binary suffixes come before their one-letter SI lookalikes
	// so that "MiB" is not read as "Mi" + "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
	{"B", 1},
}

// UnmarshalText reads "16MiB", "512KB" or "1048576".
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(strings.ToLower(s), strings.ToLower(u.suffix)) {
			s, factor = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/factor {
		return fmt.Errorf("%q is not a size: write a whole number of bytes or a number with a unit (KiB, MiB, GiB, KB, MB, GB), e.g. 16MiB", string(text))
	}
	*b = ByteSize(n * factor)
	return nil
}

// settings maps the files block onto the file source's settings.
func (f FilesConfig) settings(buildVersion string) filesource.Settings {
	return filesource.Settings{
		Include:                 f.Include,
		Exclude:                 f.Exclude,
		PollInterval:            f.PollInterval,
		MaxRecordBytes:          int(f.MaxRecordBytes),
		BatchSize:               f.BatchSize,
		MaxBatchBytes:           int(f.MaxBatchBytes),
		IncompleteRecordTimeout: f.IncompleteRecordTimeout,
		ScopeName:               metadata.ScopeName,
		ScopeVersion:            buildVersion,
	}
}

package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/filesource"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"
)

// Source names: each is the config key of its block and the value of the
// source attribute of the receiver's metrics.
const (
	sourceFiles     = "files"
	sourceO365      = vendorapi.SourceO365
	sourceGraph     = vendorapi.SourceGraph
	sourceGraphRisk = vendorapi.SourceGraphRisk
	sourceGoogle    = vendorapi.SourceGoogle
)

// source reads vendor records from one kind of origin: exported files or a
// vendor API. The receiver runs each source in its own goroutine.
type source interface {
	// Run reads until ctx ends. It hands each batch to deliver and advances
	// its own checkpoint only after deliver returned nil.
	Run(ctx context.Context, deliver deliverFunc)
}

// deliverFunc hands a batch to the next consumer. It returns nil once the
// batch is done with (accepted, or refused for good and counted), and an
// error only when ctx ended first. The pipeline may change logs in place;
// asRead builds the batch again as it was read, and may be called only
// before deliverFunc returns. It is the sources' Deliver.
type deliverFunc = func(ctx context.Context, logs plog.Logs, asRead func() plog.Logs) error

type auditLogReceiver struct {
	settings  receiver.Settings
	cfg       *Config
	next      consumer.Logs
	telemetry *metadata.TelemetryBuilder
	// newBackOff paces the retries of a batch the next consumer refused
	// with a retryable error.
	newBackOff func() backoff.BackOff

	client storage.Client
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newAuditLogReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*auditLogReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &auditLogReceiver{
		settings:   set,
		cfg:        cfg,
		next:       next,
		telemetry:  tb,
		newBackOff: defaultBackOff,
	}, nil
}

// defaultBackOff starts fast, since a memory limiter usually recovers within
// a second, and caps the wait so that delivery resumes soon after.
func defaultBackOff() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.MaxInterval = 30 * time.Second
	return b
}

func (r *auditLogReceiver) Start(ctx context.Context, host component.Host) error {
	client, err := r.storageClient(ctx, host)
	if err != nil {
		return err
	}
	checkpoints, err := filesource.LoadCheckpoints(ctx, client)
	if err != nil {
		_ = client.Close(ctx)
		return err
	}
	r.client = client
	if r.cfg.StorageID == nil {
		r.settings.Logger.Info("no storage extension configured: read positions are kept in memory only, so files are read again from their start, and APIs from their initial lookback, after a restart")
	}
	type started struct {
		src     source
		deliver deliverFunc
	}
	var sources []started
	if len(r.cfg.Files.Include) > 0 {
		label := sourceLabel{tenant: r.cfg.Files.TenantName, source: sourceFiles}
		deliver, err := r.deliverer(label, "file", r.cfg.Files.filesMark())
		if err != nil {
			return r.failStart(ctx, err)
		}
		files := filesource.New(r.cfg.Files.settings(r.settings.BuildInfo.Version), r.settings.Logger, r.metrics(label), checkpoints)
		sources = append(sources, started{files, deliver})
	}
	apiSources, err := r.apiSources(ctx, host, client)
	if err != nil {
		return r.failStart(ctx, err)
	}
	for _, api := range apiSources {
		deliver, err := r.deliverer(api.label, "http", api.mark)
		if err != nil {
			return r.failStart(ctx, err)
		}
		sources = append(sources, started{api.source, deliver})
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, s := range sources {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			s.src.Run(runCtx, s.deliver)
		}()
	}
	return nil
}

// failStart releases the storage client when a source cannot be set up, so
// that a failed start leaves nothing open.
func (r *auditLogReceiver) failStart(ctx context.Context, err error) error {
	_ = r.client.Close(ctx)
	r.client = nil
	return err
}

func (r *auditLogReceiver) storageClient(ctx context.Context, host component.Host) (storage.Client, error) {
	if r.cfg.StorageID == nil {
		return storage.NewNopClient(), nil
	}
	ext, ok := host.GetExtensions()[*r.cfg.StorageID]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not configured; add it under extensions and service::extensions, or remove storage", r.cfg.StorageID)
	}
	storageExt, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension; name one such as file_storage", r.cfg.StorageID)
	}
	return storageExt.GetClient(ctx, component.KindReceiver, r.settings.ID, "")
}

// Shutdown stops reading. What was not accepted downstream by then is read
// again on the next start.
func (r *auditLogReceiver) Shutdown(ctx context.Context) error {
	defer r.telemetry.Shutdown()
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	stopped := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		return ctx.Err()
	}
	return r.client.Close(ctx)
}

package auditlogreceiver // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver"

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/metadata"
)

// source reads vendor records from one kind of origin: exported files now,
// vendor APIs later. The receiver runs each source in its own goroutine.
type source interface {
	// run reads until ctx ends. It hands each batch to deliver and advances
	// its own checkpoint only after deliver returned nil.
	run(ctx context.Context, deliver deliverFunc)
}

// deliverFunc hands a batch to the next consumer. It returns nil once the
// batch is done with (accepted, or refused for good and counted), and an
// error only when ctx ended first.
type deliverFunc func(ctx context.Context, logs plog.Logs) error

type auditLogReceiver struct {
	settings  receiver.Settings
	cfg       *Config
	next      consumer.Logs
	telemetry *metadata.TelemetryBuilder
	obsrecv   *receiverhelper.ObsReport
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
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "file",
		LongLivedCtx:           true,
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &auditLogReceiver{
		settings:   set,
		cfg:        cfg,
		next:       next,
		telemetry:  tb,
		obsrecv:    obsrecv,
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
	checkpoints, err := loadCheckpoints(ctx, client)
	if err != nil {
		_ = client.Close(ctx)
		return err
	}
	r.client = client
	if r.cfg.StorageID == nil {
		r.settings.Logger.Info("no storage extension configured: read positions are kept in memory only, so files are read again from their start after a restart")
	}
	sources := []source{
		newFileSource(r.cfg.Files, r.settings.Logger, r.telemetry, r.settings.BuildInfo.Version, checkpoints),
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, src := range sources {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			src.run(runCtx, r.deliver)
		}()
	}
	return nil
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

// deliver pushes one batch downstream. A retryable refusal is backpressure
// (a memory limiter, a full queue): the same batch is sent again after a
// growing pause, for as long as it takes, because skipping it would lose
// records. A permanent refusal is logged and counted, and reading goes on.
func (r *auditLogReceiver) deliver(ctx context.Context, logs plog.Logs) error {
	// Retry tries once even when ctx has ended: without this check a
	// shutdown would wait for the source to read to the end of its files.
	if err := ctx.Err(); err != nil {
		return err
	}
	count := logs.LogRecordCount()
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		opCtx := r.obsrecv.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(opCtx, logs)
		r.obsrecv.EndLogsOp(opCtx, metadata.Type.String(), count, err)
		if consumererror.IsPermanent(err) {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(r.newBackOff()),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, wait time.Duration) {
			r.telemetry.AuditLogDownstreamRetries.Add(ctx, 1)
			r.settings.Logger.Debug("next consumer refused a batch; sending it again",
				zap.Int("records", count), zap.Duration("wait", wait), zap.Error(err))
		}),
	)
	switch {
	case err == nil:
		r.telemetry.AuditLogRecordsEmitted.Add(ctx, int64(count))
		return nil
	case consumererror.IsPermanent(err):
		r.settings.Logger.Error("next consumer refused a batch for good; its records are dropped",
			zap.Int("records", count), zap.Error(err))
		r.telemetry.AuditLogDroppedRecords.Add(ctx, int64(count))
		return nil
	}
	return err
}

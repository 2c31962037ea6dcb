package e2e

// The OTLP/gRPC service of a sink that keeps nothing (the throughput
// measurement's): it counts the log records of each export on the wire,
// without building pdata. Unmarshalling every request into pdata cost about
// a fifth of the 2-core machine while the collector under test ran beside
// it.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
)

// registerCountingService registers on srv, which must have been made
// with grpc.ForceServerCodecV2(countingCodec{}), the OTLP logs service of
// a sink that only counts.
func registerCountingService(srv *grpc.Server, s *otlpSink) {
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "opentelemetry.proto.collector.logs.v1.LogsService",
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: exportCounted}},
		Metadata:    "opentelemetry/proto/collector/logs/v1/logs_service.proto",
	}, s)
}

// exportCounted is the Export method of the counting service. grpc has
// decompressed the request (gzip or not) before dec hands it to the codec.
// There are no interceptors on a sink's server.
func exportCounted(srv any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	var req countedRequest
	if err := dec(&req); err != nil {
		return nil, err
	}
	s := srv.(*otlpSink)
	if s.refuse.Load() {
		s.refused.Add(1)
		return nil, status.Error(codes.Unavailable, "sink refusing for the test")
	}
	s.addCount(req.records)
	return &emptyResponse{}, nil
}

// countedRequest is an ExportLogsServiceRequest reduced to the number of
// its log records.
type countedRequest struct{ records int }

// emptyResponse is an ExportLogsServiceResponse without a partial_success:
// no bytes on the wire.
type emptyResponse struct{}

// countingCodec is the gRPC codec of the counting service: it reads a
// countedRequest from the wire and writes an emptyResponse.
type countingCodec struct{}

func (countingCodec) Name() string { return "proto" }

func (countingCodec) Marshal(v any) (mem.BufferSlice, error) {
	if _, ok := v.(*emptyResponse); !ok {
		return nil, fmt.Errorf("the counting codec cannot marshal a %T", v)
	}
	return mem.BufferSlice{}, nil
}

func (countingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	req, ok := v.(*countedRequest)
	if !ok {
		return fmt.Errorf("the counting codec cannot unmarshal into a %T", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	n, err := countLogRecords(buf.ReadOnlyData())
	req.records = n
	return err
}

var _ encoding.CodecV2 = countingCodec{}

// The wire types of protobuf.
const (
	wireVarint     = 0
	wireFixed64    = 1
	wireBytes      = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireFixed32    = 5
)

var errMalformed = errors.New("malformed protobuf")

// The length-delimited fields of the messages countLogRecords walks.
var (
	// ExportLogsServiceRequest: resource_logs.
	requestFields = map[uint64]bool{1: true}
	// ResourceLogs: resource, scope_logs, schema_url and the deprecated
	// instrumentation_library_logs.
	resourceLogsFields = map[uint64]bool{1: true, 2: true, 3: true, 1000: true}
	// ScopeLogs: scope, log_records, schema_url.
	scopeLogsFields = map[uint64]bool{1: true, 2: true, 3: true}
)

// countLogRecords counts the log records of an ExportLogsServiceRequest
// on the wire: resource_logs (1) -> scope_logs (2) -> log_records (2). It
// refuses what pdata's unmarshalling refuses in the messages it walks (a
// field cut short, a length beyond the end, a field number 0, an unknown
// wire type, a known field of the wrong wire type); it does not look into
// the resources, scopes and records themselves. Like plogotlp, it takes
// the deprecated instrumentation_library_logs (1000) of a ResourceLogs
// that has no scope_logs.
func countLogRecords(req []byte) (int, error) {
	total := 0
	err := protoFields(req, requestFields, func(num uint64, resource []byte) error {
		scopes, records, deprecated := 0, 0, 0
		err := protoFields(resource, resourceLogsFields, func(num uint64, scope []byte) error {
			if num != 2 && num != 1000 {
				return nil // resource, schema_url
			}
			n := 0
			err := protoFields(scope, scopeLogsFields, func(num uint64, _ []byte) error {
				if num == 2 {
					n++
				}
				return nil
			})
			if num == 2 {
				scopes++
				records += n
			} else {
				deprecated += n
			}
			return err
		})
		if scopes == 0 {
			records = deprecated
		}
		total += records
		return err
	})
	return total, err
}

// protoFields walks the fields of the protobuf message msg and calls fn
// with the number and the content of each field of known, which must be
// length-delimited; it skips the other fields by their wire type.
func protoFields(msg []byte, known map[uint64]bool, fn func(num uint64, content []byte) error) error {
	for len(msg) > 0 {
		num, wire, content, rest, err := protoField(msg)
		if err != nil {
			return err
		}
		msg = rest
		switch {
		case wire == wireEndGroup:
			return fmt.Errorf("%w: end of a group that did not start", errMalformed)
		case !known[num]:
		case wire != wireBytes:
			return fmt.Errorf("%w: field %d has wire type %d", errMalformed, num, wire)
		default:
			if err := fn(num, content); err != nil {
				return err
			}
		}
	}
	return nil
}

// protoField reads the field at the start of msg: its number, its wire
// type, its content when it is length-delimited, and what follows it. A
// group is read to its end; an end of group is returned as it is.
func protoField(msg []byte) (num, wire uint64, content, rest []byte, err error) {
	tag, n := binary.Uvarint(msg)
	if n <= 0 {
		return 0, 0, nil, nil, fmt.Errorf("%w: tag cut short", errMalformed)
	}
	msg = msg[n:]
	num, wire = tag>>3, tag&7
	if num == 0 || num > math.MaxInt32 {
		return 0, 0, nil, nil, fmt.Errorf("%w: field number %d", errMalformed, num)
	}
	switch wire {
	case wireVarint:
		if _, n = binary.Uvarint(msg); n <= 0 {
			return 0, 0, nil, nil, fmt.Errorf("%w: varint of field %d cut short", errMalformed, num)
		}
		return num, wire, nil, msg[n:], nil
	case wireFixed64, wireFixed32:
		size := 8
		if wire == wireFixed32 {
			size = 4
		}
		if len(msg) < size {
			return 0, 0, nil, nil, fmt.Errorf("%w: field %d cut short", errMalformed, num)
		}
		return num, wire, nil, msg[size:], nil
	case wireBytes:
		length, n := binary.Uvarint(msg)
		if n <= 0 || length > uint64(len(msg)-n) {
			return 0, 0, nil, nil, fmt.Errorf("%w: field %d runs past the end", errMalformed, num)
		}
		end := n + int(length)
		return num, wire, msg[n:end], msg[end:], nil
	case wireStartGroup:
		for {
			var inner uint64
			_, inner, _, msg, err = protoField(msg)
			if err != nil {
				return 0, 0, nil, nil, err
			}
			if inner == wireEndGroup {
				return num, wire, nil, msg, nil
			}
		}
	case wireEndGroup:
		return num, wire, nil, msg, nil
	}
	return 0, 0, nil, nil, fmt.Errorf("%w: wire type %d of field %d", errMalformed, wire, num)
}

// TestSinkCountsOnTheWire: a sink that keeps nothing counts, over gRPC,
// plain and gzip-compressed, as many records as plog does in the same
// requests; and notes when the first and the last arrived.
func TestSinkCountsOnTheWire(t *testing.T) {
	sink := startSink(t, sinkKeeps{})
	client := plogotlp.NewGRPCClient(sinkClient(t, sink))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	total := 0
	for _, compression := range []string{"none", gzip.Name} {
		var opts []grpc.CallOption
		if compression != "none" {
			opts = append(opts, grpc.UseCompressor(compression))
		}
		for name, ld := range sinkTestLogs() {
			req := plogotlp.NewExportRequestFromLogs(ld)
			data, err := req.MarshalProto()
			if err != nil {
				t.Fatal(err)
			}
			want := ld.LogRecordCount()
			if n, err := countLogRecords(data); n != want || err != nil {
				t.Errorf("%s: countLogRecords = %d, %v; plog counts %d", name, n, err, want)
			}
			before := sink.count()
			if _, err := client.Export(ctx, req, opts...); err != nil {
				t.Fatalf("%s, %s: %v", name, compression, err)
			}
			if got := sink.count() - before; got != want {
				t.Errorf("%s, %s: the sink counted %d records, plog %d", name, compression, got, want)
			}
			total += want
		}
	}
	first, last := sink.arrival()
	if first.IsZero() || last.Before(first) || sink.count() != total || sink.rate() <= 0 {
		t.Errorf("the sink counted %d of %d records from %v to %v (%.0f records/s)", sink.count(), total, first, last, sink.rate())
	}
}

// TestSinkRefusesMalformedRequests: a sink that keeps nothing refuses,
// with an error, a request that pdata would refuse, rather than count what
// it can of it; and counts, as pdata does, the deprecated
// instrumentation_library_logs and the fields it does not know.
func TestSinkRefusesMalformedRequests(t *testing.T) {
	sink := startSink(t, sinkKeeps{})
	cc := sinkClient(t, sink)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	export := func(payload []byte, compression string) error {
		opts := []grpc.CallOption{grpc.ForceCodecV2(rawCodec{})}
		if compression != "none" {
			opts = append(opts, grpc.UseCompressor(compression))
		}
		var reply []byte
		return cc.Invoke(ctx, "/opentelemetry.proto.collector.logs.v1.LogsService/Export", &payload, &reply, opts...)
	}
	valid, err := plogotlp.NewExportRequestFromLogs(sinkTestLogs()["several resources"]).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	// A ScopeLogs' log record with a string body.
	record := field(2, field(5, field(1, []byte("a body"))))
	wellFormed := map[string][]byte{
		"several resources":                                      valid,
		"deprecated instrumentation_library_logs":                field(1, field(1000, record, record)),
		"scope_logs and deprecated instrumentation_library_logs": field(1, field(2, record), field(1000, record, record)),
		"unknown fields of every wire type and an empty group": append([]byte{0x28, 0x96, 0x01, 0x31, 1, 2, 3, 4, 5, 6, 7, 8, 0x3d, 1, 2, 3, 4, 0x4b, 0x4c},
			field(1, field(2, []byte{0x48, 0x01}, record))...),
	}
	malformed := map[string][]byte{
		"a valid request cut short":        valid[:len(valid)/2],
		"resource_logs as a varint":        {0x08, 0x01},
		"scope_logs as a varint":           {0x0a, 0x02, 0x10, 0x01},
		"log_records as a fixed32":         {0x0a, 0x07, 0x12, 0x05, 0x15, 1, 2, 3, 4},
		"a length past the end":            {0x0a, 0x05, 0x12},
		"a log record past its scope":      {0x0a, 0x04, 0x12, 0x02, 0x12, 0x05},
		"field number 0":                   {0x00, 0x01},
		"wire type 7":                      {0x2f},
		"a varint cut short":               {0x28, 0x80},
		"an end of group that never began": {0x2c},
		"a group that never ends":          {0x2b},
	}
	for _, compression := range []string{"none", gzip.Name} {
		for name, payload := range wellFormed {
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalProto(payload); err != nil {
				t.Fatalf("%s: pdata refuses it: %v", name, err)
			}
			want := req.Logs().LogRecordCount()
			before := sink.count()
			if err := export(payload, compression); err != nil {
				t.Errorf("%s, %s: %v", name, compression, err)
			}
			if got := sink.count() - before; got != want {
				t.Errorf("%s, %s: the sink counted %d records, pdata %d", name, compression, got, want)
			}
		}
		for name, payload := range malformed {
			if err := plogotlp.NewExportRequest().UnmarshalProto(payload); err == nil {
				t.Errorf("%s: pdata accepts it", name)
			}
			if _, err := countLogRecords(payload); !errors.Is(err, errMalformed) {
				t.Errorf("%s: countLogRecords: %v", name, err)
			}
			before := sink.count()
			if err := export(payload, compression); status.Code(err) == codes.OK {
				t.Errorf("%s, %s: the sink took it", name, compression)
			}
			if got := sink.count() - before; got != 0 {
				t.Errorf("%s, %s: the sink counted %d records of it", name, compression, got)
			}
		}
	}
}

// sinkClient is a gRPC connection to the sink, closed with the test.
func sinkClient(t *testing.T, sink *otlpSink) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(sink.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// rawCodec sends and receives a *[]byte as it is: the test's payloads,
// malformed ones included.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// field is the length-delimited protobuf field num with the parts as its
// content.
func field(num uint64, parts ...[]byte) []byte {
	content := slices.Concat(parts...)
	b := binary.AppendUvarint(nil, num<<3|wireBytes)
	b = binary.AppendUvarint(b, uint64(len(content)))
	return append(b, content...)
}

// sinkTestLogs are the exports of TestSinkCountsOnTheWire, by name.
func sinkTestLogs() map[string]plog.Logs {
	out := map[string]plog.Logs{"no resources": plog.NewLogs()}

	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().Resource().Attributes().PutStr("service.name", "no scopes")
	out["a resource without scopes"] = ld

	ld = plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().Scope().SetName("no records")
	out["a scope without records"] = ld

	ld = plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	records.AppendEmpty()
	records.AppendEmpty()
	out["empty records"] = ld

	ld = plog.NewLogs()
	for r := range 3 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.30.0")
		rl.Resource().Attributes().PutStr("tenant", fmt.Sprint("tenant-", r))
		for sc := range r + 1 {
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(fmt.Sprint("scope-", sc))
			sl.Scope().Attributes().PutInt("index", int64(sc))
			for i := range 2*r + sc {
				lr := sl.LogRecords().AppendEmpty()
				lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(1700000000, int64(i))))
				lr.SetSeverityNumber(plog.SeverityNumberInfo)
				lr.SetTraceID(pcommon.TraceID{1, 2, 3, byte(i)})
				lr.Attributes().PutStr("audit.record.id", fmt.Sprintf("r%d-%d-%d", r, sc, i))
				body := lr.Body().SetEmptyMap()
				body.PutStr("Operation", "New-InboxRule")
				params := body.PutEmptySlice("Parameters")
				for p := range 3 {
					m := params.AppendEmpty().SetEmptyMap()
					m.PutStr("Name", fmt.Sprint("p", p))
					m.PutEmptyMap("Value").PutEmptySlice("nested").AppendEmpty().SetEmptyBytes().FromRaw([]byte{0, 1, 2})
				}
				body.PutEmptyMap("empty")
			}
		}
	}
	out["several resources"] = ld

	// A batch of the throughput run's size, large enough to arrive in
	// several buffers.
	ld = plog.NewLogs()
	records = ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range 500 {
		lr := records.AppendEmpty()
		lr.Body().SetStr(strings.Repeat(fmt.Sprint(i), 200))
		lr.Attributes().PutInt("n", int64(i))
	}
	out["a 500-record batch"] = ld
	return out
}

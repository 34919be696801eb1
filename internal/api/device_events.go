package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/device/om"
	"github.com/vigil-sec/vigil/internal/store"
)

// DeviceEvent is an SNMP trap or a configuration change a device reported.
type DeviceEvent struct {
	ID           string             `json:"id"`
	At           time.Time          `json:"at"`
	Kind         string             `json:"kind" enum:"trap,config_change"`
	Name         string             `json:"name"`
	Severity     string             `json:"severity"`
	User         string             `json:"user,omitempty" doc:"Who changed the configuration, as the device named them"`
	Summary      string             `json:"summary"`
	Detail       []DeviceEventField `json:"detail,omitempty"`
	Authorised   string             `json:"authorised,omitempty" enum:"yes,no," doc:"Whether an approved change work order covers the change"`
	WorkOrderID  string             `json:"work_order_id,omitempty"`
	WorkOrderRef string             `json:"work_order_ref,omitempty"`
	BackupID     string             `json:"backup_id,omitempty" doc:"The backup taken after the change"`
}

// DeviceEventField is one name/value pair of an event's detail.
type DeviceEventField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type deviceEventsIn struct {
	TenantParam
	Asset  string `path:"asset" maxLength:"100" doc:"Device (asset) ID"`
	Kind   string `query:"kind" enum:"trap,config_change," doc:"Only events of this kind"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"Page size"`
	Offset int    `query:"offset" minimum:"0" doc:"Events to skip"`
}

type deviceRawIn struct {
	TenantParam
	Asset string `path:"asset" maxLength:"100" doc:"Device (asset) ID"`
	ID    string `path:"backup" maxLength:"100" doc:"Configuration version ID"`
}

type deviceHistoryIn struct {
	TenantParam
	Asset  string `path:"asset" maxLength:"100" doc:"Device (asset) ID"`
	Format string `query:"format" enum:"csv,zip" default:"zip" doc:"csv: one row per version; zip: the CSV, every masked version and every diff"`
}

// fileOut is a downloaded file.
type fileOut struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	Body               []byte
}

func (s *server) registerDeviceEvents(tags []string, base string) {
	read, restore := inTenant(auth.PermAssetRead), inTenant(auth.PermSecretWrite)
	register(s, read, huma.Operation{OperationID: "list-device-events", Method: http.MethodGet, Path: base + "/{asset}/events",
		Summary: "List a device's SNMP traps and configuration changes, newest first", Tags: tags}, s.listDeviceEvents)
	register(s, restore, huma.Operation{OperationID: "download-device-config", Method: http.MethodGet,
		Path: base + "/{asset}/backups/{backup}/raw", Summary: "Download a configuration version as fetched, secrets included",
		Description: "For a restore: the exact text the device gave, decrypted from its sealed copy. Needs secret.write; " +
			"every download is written to the audit log.", Tags: tags}, s.downloadDeviceConfig)
	register(s, read, huma.Operation{OperationID: "export-device-history", Method: http.MethodGet, Path: base + "/{asset}/history",
		Summary: "Export a device's configuration history (versions, hashes, who changed, diffs; secrets masked)", Tags: tags},
		s.exportDeviceHistory)
}

func (s *server) listDeviceEvents(ctx context.Context, in *deviceEventsIn) (*out[[]DeviceEvent], error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	evs, err := s.opts.Devices.Events(ctx, t.ID, store.DeviceEventFilter{AssetID: in.Asset, Kind: in.Kind,
		Page: store.Page{Limit: in.Limit, Offset: in.Offset}})
	if err != nil {
		return nil, err
	}
	return reply(items(evs, func(e store.DeviceEvent) DeviceEvent {
		v := DeviceEvent{ID: e.ID, At: e.At, Kind: e.Kind, Name: e.Name, Severity: e.Severity, User: e.User, Summary: e.Summary,
			Authorised: e.Authorised, WorkOrderID: e.WorkOrderID, WorkOrderRef: e.WorkOrderRef, BackupID: e.BackupID}
		for _, f := range e.Detail {
			v.Detail = append(v.Detail, DeviceEventField(f))
		}
		return v
	}))
}

func (s *server) downloadDeviceConfig(ctx context.Context, in *deviceRawIn) (*fileOut, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	b, raw, err := s.opts.Devices.RawConfig(ctx, t.ID, in.Asset, in.ID)
	if err != nil {
		return nil, err
	}
	return &fileOut{ContentType: "text/plain; charset=utf-8", CacheControl: "no-store",
		ContentDisposition: fmt.Sprintf(`attachment; filename="config-%s-%s.txt"`, b.AssetID, b.TakenAt.UTC().Format("20060102T150405Z")),
		Body:               raw}, nil
}

func (s *server) exportDeviceHistory(ctx context.Context, in *deviceHistoryIn) (*fileOut, error) {
	t, err := pathTenant(ctx)
	if err != nil {
		return nil, err
	}
	d, versions, err := s.opts.Devices.History(ctx, t.ID, in.Asset)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	o := &fileOut{CacheControl: "no-store"}
	if in.Format == "csv" {
		err = om.WriteHistoryCSV(&buf, versions)
		o.ContentType, o.ContentDisposition = "text/csv; charset=utf-8", fmt.Sprintf(`attachment; filename="config-history-%s.csv"`, d.AssetID)
	} else {
		err = om.WriteHistoryZIP(&buf, d, versions)
		o.ContentType, o.ContentDisposition = "application/zip", fmt.Sprintf(`attachment; filename="config-history-%s.zip"`, d.AssetID)
	}
	if err != nil {
		return nil, err
	}
	o.Body = buf.Bytes()
	return o, nil
}

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/notify"
)

// newNotifyCmd builds "vigil notify": send one message through a channel
// configuration, check a configuration, or preview a template.
func newNotifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Send notifications through e-mail, WeCom, DingTalk, Feishu, webhook or SMS channels; preview templates",
	}
	cmd.AddCommand(newNotifySendCmd(), newNotifyCheckCmd(), newNotifyPreviewCmd())
	return cmd
}

func newNotifySendCmd() *cobra.Command {
	var (
		cfgFile, subject, text, kind, severity, link, id string
	)
	cmd := &cobra.Command{
		Use:   "send --channel-config FILE --subject S --text T [--kind K]",
		Short: "Send one message through one channel and print the receipt as JSON",
		Long: `send reads a channel configuration (JSON: kind, name, allow_private,
rate_per_minute, timeout, settings, secrets), sends one message through it
once, without retries, and prints the receipt as JSON.

Kinds: email, wecom, dingtalk, feishu, webhook, sms. HTTP channels and SMTP
refuse loopback, private, link-local, CGNAT and multicast destinations unless
the configuration sets "allow_private": true.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadChannelConfig(cfgFile)
			if err != nil {
				return err
			}
			ch, _, err := notify.DefaultRegistry().Build(cfg, notify.Env{})
			if err != nil {
				return fmt.Errorf("notify send: %w", err)
			}
			if id == "" {
				id = uuid.NewString()
			}
			msg := notify.Message{ID: id, Kind: notify.Kind(kind), Severity: notify.Severity(severity), Subject: subject, Text: text, Link: link}
			rc, err := ch.Send(cmd.Context(), msg)
			if err != nil {
				return fmt.Errorf("notify send: %w", err)
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(rc)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgFile, "channel-config", "", "channel configuration file (JSON)")
	f.StringVar(&subject, "subject", "", "message subject")
	f.StringVar(&text, "text", "", "plain-text body")
	f.StringVar(&kind, "kind", string(notify.KindTest), "message kind: alert, case, sla-breach, kev-match, advisory, digest, urgent-notice, test")
	f.StringVar(&severity, "severity", "", "severity: info, low, medium, high, critical")
	f.StringVar(&link, "link", "", "link to the item in Vigil")
	f.StringVar(&id, "id", "", "message id (default: a new UUID)")
	_ = cmd.MarkFlagRequired("channel-config")
	_ = cmd.MarkFlagRequired("subject")
	return cmd
}

func newNotifyCheckCmd() *cobra.Command {
	var cfgFile string
	cmd := &cobra.Command{
		Use:   "check --channel-config FILE",
		Short: "Validate a channel configuration and print it with secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadChannelConfig(cfgFile)
			if err != nil {
				return err
			}
			if _, _, err := notify.DefaultRegistry().Build(cfg, notify.Env{}); err != nil {
				return fmt.Errorf("notify check: %w", err)
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(cfg.Redacted())
		},
	}
	cmd.Flags().StringVar(&cfgFile, "channel-config", "", "channel configuration file (JSON)")
	_ = cmd.MarkFlagRequired("channel-config")
	return cmd
}

func newNotifyPreviewCmd() *cobra.Command {
	var kind, lang, dataFile, format string
	cmd := &cobra.Command{
		Use:   "preview --kind K --lang L --data FILE [--format json|subject|text|markdown|html]",
		Short: "Render a notification template with JSON data",
		Long: `preview renders the embedded template of a kind (alert, case, sla-breach,
kev-match, advisory, digest, urgent-notice, test) in a language (en or zh-CN)
with the JSON data in FILE ("-" for standard input): title, severity, summary,
tenant, source, time, fields [{name,value}], items [{title,severity,note,link}],
lines, link, ack_url. It prints all formats as JSON, or one of them raw.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := readNotifyData(cmd, dataFile, notify.MaxTemplateDataBytes)
			if err != nil {
				return fmt.Errorf("notify preview: %w", err)
			}
			r, err := notify.Preview(notify.Kind(kind), lang, data)
			if err != nil {
				return fmt.Errorf("notify preview: %s: %w", dataFile, err)
			}
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				return json.NewEncoder(w).Encode(r)
			case "subject":
				_, err = fmt.Fprintln(w, r.Subject)
			case "text":
				_, err = io.WriteString(w, r.Text)
			case "markdown":
				_, err = io.WriteString(w, r.Markdown)
			case "html":
				_, err = fmt.Fprintln(w, r.HTML)
			default:
				return fmt.Errorf("notify preview: unknown --format %q (json, subject, text, markdown, html)", format)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "notification kind")
	f.StringVar(&lang, "lang", "en", "language: en or zh-CN")
	f.StringVar(&dataFile, "data", "", `template data file (JSON), "-" for standard input`)
	f.StringVar(&format, "format", "json", "output: json, subject, text, markdown or html")
	_ = cmd.MarkFlagRequired("kind")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}

func loadChannelConfig(name string) (notify.ChannelConfig, error) {
	f, err := os.Open(name) // #nosec G304 -- the operator names the configuration file
	if err != nil {
		return notify.ChannelConfig{}, fmt.Errorf("notify: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, notify.MaxConfigBytes+1))
	if err != nil {
		return notify.ChannelConfig{}, fmt.Errorf("notify: %s: %w", name, err)
	}
	cfg, err := notify.ParseChannelConfig(data)
	if err != nil {
		return notify.ChannelConfig{}, fmt.Errorf("notify: %s: %w", name, err)
	}
	return cfg, nil
}

// readNotifyData reads at most limit+1 bytes of name ("-" is standard input),
// so an oversized input is reported rather than read whole.
func readNotifyData(cmd *cobra.Command, name string, limit int64) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(name) // #nosec G304 -- the operator names the data file
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errors.New(name + ": larger than the limit")
	}
	return data, nil
}

package agent

import (
	"fmt"
	"strings"
)

// SystemdUnit returns the systemd service unit that runs `vigil agent run`
// from binary with its state in dataDir. The agent runs as root (it reads
// every log, the package databases and other users' sockets) but the unit
// makes the file system read-only for it except its state directory.
func SystemdUnit(binary, dataDir string) string {
	quote := func(s string) string {
		if strings.ContainsAny(s, " \t\"'\\") {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		return s
	}
	return fmt.Sprintf(`# Vigil host agent. Install as /etc/systemd/system/vigil-agent.service,
# enrol once with
#   %[1]s agent enrol --server https://vigil.example.com --token vge_... --data-dir %[2]s
# then: systemctl daemon-reload && systemctl enable --now vigil-agent
[Unit]
Description=Vigil host agent (inventory, logs, journald, file integrity)
Documentation=https://github.com/vigil-sec/vigil/blob/main/docs/agent.md
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=%[1]s agent run --data-dir %[2]s
Restart=on-failure
RestartSec=5s
# Stop cleanly: the spool and offsets are saved on SIGTERM.
KillSignal=SIGTERM
TimeoutStopSec=30s
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=%[2]s
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryMax=512M

[Install]
WantedBy=multi-user.target
`, quote(binary), quote(dataDir))
}

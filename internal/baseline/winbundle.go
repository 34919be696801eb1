package baseline

import (
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// The offline evidence collector for Windows.
//
// WriteWindowsCollector writes a PowerShell script (Windows PowerShell 5.1
// and later) that gathers exactly the evidence a policy needs on a Windows
// host Vigil cannot reach: every value of each registry key its r: rules
// name (in the 64-bit and the 32-bit view, as SCA reads both), the files
// and directories of its f: and d: rules, the process list for p: rules
// and, only when commands are allowed, the output of its c: commands. It
// writes them under a new folder next to the output and packs that into
// one zip with Compress-Archive (the layout is in winevidence.go).
//
// Commands follow the rules of the sh collector: only with allowCommands,
// and only command lines without shell syntax (| ; & > < ` $). A line is
// started as SCA starts it, with CreateProcess and the line as written (no
// cmd.exe), from the output folder, stdin closed, with a timeout. The
// policies' idiom for the local security policy ("powershell secedit
// /export /cfg $env:TEMP\secpol.cfg; Get-Content ... | Select-String
// SETTING; Remove-Item ...") is not run: it writes outside the output
// folder. The collector runs "secedit /export" once with the template and
// its log inside the output folder, and the evaluator answers each such
// line from that export.
//
// The script uses no network and writes nothing outside its output folder
// and the zip.

// windowsPlan is what a policy needs collected on Windows.
type windowsPlan struct {
	keys    map[string][3]string // lower-case canonical key -> canonical key, .NET hive, subkey
	files   map[string]bool      // slash path -> content needed
	dirs    map[string]dirPlan   // slash path
	procs   bool
	cmds    map[string][2]string // command line -> program, arguments
	secedit bool
}

func planWindowsEvidence(p *Policy, allowCommands bool) *windowsPlan {
	pl := &windowsPlan{keys: map[string][3]string{}, files: map[string]bool{}, dirs: map[string]dirPlan{}, cmds: map[string][2]string{}}
	var rules []*Rule
	if p.Requirements != nil {
		rules = append(rules, p.Requirements.Rules...)
	}
	for i := range p.Checks {
		if !p.Checks[i].Manual {
			rules = append(rules, p.Checks[i].Rules...)
		}
	}
	for _, r := range rules {
		switch r.Type {
		case RuleRegistry:
			// Keys are case-insensitive: one spelling is collected.
			if key, hive, sub, ok := RegistryKeyName(r.Targets[0]); ok {
				if old, seen := pl.keys[strings.ToLower(key)]; !seen || key < old[0] {
					pl.keys[strings.ToLower(key)] = [3]string{key, hive, sub}
				}
			}
		case RuleFile:
			for _, t := range r.Targets {
				if t, ok := windowsPath(t); ok {
					pl.files[t] = pl.files[t] || r.Content != nil
				}
			}
		case RuleDirectory:
			for _, t := range r.Targets {
				t, ok := windowsPath(t)
				if !ok {
					continue
				}
				planDir(pl.dirs, t, r)
			}
		case RuleProcess:
			pl.procs = true
		case RuleCommand:
			if !allowCommands {
				continue
			}
			line := r.Targets[0]
			if _, ok := seceditSetting(line); ok {
				pl.secedit = true
				continue
			}
			if prog, args, ok := windowsCommand(line); ok {
				pl.cmds[line] = [2]string{prog, args}
			}
		}
	}
	return pl
}

// windowsCommand splits a command line as CreateProcess does when it is
// given no application name: the program is the first word, or the
// quoted text when the line starts with a quote; the arguments are the
// rest as written. ok is false for lines with shell syntax or control
// characters, which the collector does not run.
func windowsCommand(line string) (prog, args string, ok bool) {
	line = strings.TrimLeft(line, " \t")
	if line == "" || strings.ContainsAny(line, "|;&><`$") || strings.IndexFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", "", false
	}
	if line[0] == '"' {
		end := strings.IndexByte(line[1:], '"')
		if end <= 0 {
			return "", "", false
		}
		prog, args = line[1:1+end], line[2+end:]
	} else if i := strings.IndexAny(line, " \t"); i >= 0 {
		prog, args = line[:i], line[i:]
	} else {
		prog = line
	}
	return prog, strings.TrimLeft(args, " \t"), true
}

// psQuote quotes s as a PowerShell single-quoted string. PowerShell also
// ends such strings at the typographic single quotes, so each of them is
// doubled too.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// psPrintable reports whether s can be put in the script: no control
// characters (policy text never needs them; a rule with them is left
// undecided).
func psPrintable(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' }) < 0
}

// windowsCollectorHead is the fixed part of the script; only quoted words
// from the policy are appended after it. MAXDATA, MAXENT, MAXTREE,
// TIMEOUT, MAXVALUE and FORMAT are replaced when it is written.
const windowsCollectorHead = `param([string]$Output = 'vigil-evidence.zip')
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$Utf8 = New-Object System.Text.UTF8Encoding($false)
$Out = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Output)
if (-not $Out.EndsWith('.zip', [System.StringComparison]::OrdinalIgnoreCase)) { throw 'the output must be a .zip file' }
$W = $Out.Substring(0, $Out.Length - 4) + '.d'
if (Test-Path -LiteralPath $W) { throw "$W exists; remove it or choose another -Output" }
if (Test-Path -LiteralPath $Out) { throw "$Out exists; remove it or choose another -Output" }
$E = Join-Path $W 'vigil-evidence'
[void][System.IO.Directory]::CreateDirectory((Join-Path $E 'e'))
$script:n = 0
$script:I = $null
function Add-Evidence([string]$kind, [string]$name) {
  $script:n++
  $script:I = Join-Path (Join-Path $E 'e') ([string]$script:n)
  [void][System.IO.Directory]::CreateDirectory($script:I)
  Set-Field 'kind' $kind
  Set-Field 'name' $name
}
function Set-Field([string]$field, [string]$text) {
  [System.IO.File]::WriteAllText((Join-Path $script:I $field), $text, $Utf8)
}
function Limit-Text([string]$s, [int]$max) {
  if ($s.Length -gt $max) { return $s.Substring(0, $max) }
  return $s
}
function ConvertTo-Field([string]$s) {
  $s = Limit-Text $s MAXVALUE
  return $s.Replace('\', '\\').Replace("` + "`" + `t", '\t').Replace("` + "`" + `n", '\n').Replace("` + "`" + `r", '\r').Replace([string][char]0, '\0')
}
function ConvertTo-Hex($b) {
  if ($null -eq $b) { return '' }
  $b = [byte[]]$b
  if ($b.Length -gt MAXVALUE) { $b = [byte[]]$b[0..(MAXVALUE - 1)] }
  return [System.BitConverter]::ToString($b).Replace('-', '').ToLowerInvariant()
}
function Get-RegistryKey([string]$name, [string]$hive, [string]$sub) {
  foreach ($view in @('64', '32')) {
    Add-Evidence 'reg' $name
    Set-Field 'view' $view
    $k = $null
    try {
      $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]$hive, [Microsoft.Win32.RegistryView]('Registry' + $view))
      $k = $base.OpenSubKey($sub, $false)
    } catch { Set-Field 'state' 'denied'; continue }
    if ($null -eq $k) { Set-Field 'state' 'absent'; continue }
    $sb = New-Object System.Text.StringBuilder
    try {
      foreach ($v in $k.GetValueNames()) {
        $kind = $k.GetValueKind($v)
        $d = $k.GetValue($v, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
        $t = 'REG_UNKNOWN'; $f = @()
        switch ($kind.ToString()) {
          'String' { $t = 'REG_SZ'; $f = @(ConvertTo-Field ([string]$d)) }
          'ExpandString' { $t = 'REG_EXPAND_SZ'; $f = @(ConvertTo-Field ([string]$d)) }
          'MultiString' { $t = 'REG_MULTI_SZ'; $f = @($d | ForEach-Object { ConvertTo-Field ([string]$_) }) }
          'DWord' { $t = 'REG_DWORD'; $f = @([string][System.BitConverter]::ToUInt32([System.BitConverter]::GetBytes([int32]$d), 0)) }
          'QWord' { $t = 'REG_QWORD'; $f = @([string][System.BitConverter]::ToUInt64([System.BitConverter]::GetBytes([int64]$d), 0)) }
          'Binary' { $t = 'REG_BINARY'; $f = @(ConvertTo-Hex $d) }
          'None' { $t = 'REG_NONE'; $f = @(ConvertTo-Hex $d) }
          default { $f = @(ConvertTo-Hex $d) }
        }
        [void]$sb.Append($t).Append("` + "`" + `t").Append((ConvertTo-Field $v))
        foreach ($x in $f) { [void]$sb.Append("` + "`" + `t").Append($x) }
        [void]$sb.Append("` + "`" + `n")
      }
    } catch { $k.Close(); Set-Field 'state' 'denied'; continue }
    $k.Close()
    Set-Field 'data' $sb.ToString()
    Set-Field 'state' 'key'
  }
}
function Read-Head([string]$p) {
  $s = [System.IO.File]::Open($p, 'Open', 'Read', 'ReadWrite')
  try {
    $buf = New-Object byte[] ([int][Math]::Min($s.Length, MAXDATA))
    $got = 0
    while ($got -lt $buf.Length) { $r = $s.Read($buf, $got, $buf.Length - $got); if ($r -le 0) { break }; $got += $r }
    if ($got -eq 0) { $buf = New-Object byte[] 0 }
    elseif ($got -lt $buf.Length) { $buf = [byte[]]$buf[0..($got - 1)] }
    return ,$buf
  } finally { $s.Close() }
}
function Get-EvidenceFile([string]$p, [int]$content) {
  Add-Evidence 'file' $p
  if ([System.IO.Directory]::Exists($p)) { Set-Field 'state' 'dir'; return }
  if (-not [System.IO.File]::Exists($p)) {
    if (Test-Path -LiteralPath $p) { Set-Field 'state' 'other' } else { Set-Field 'state' 'missing' }
    return
  }
  if ($content -eq 1) {
    try { [System.IO.File]::WriteAllBytes((Join-Path $script:I 'data'), (Read-Head $p)) } catch { Set-Field 'state' 'unreadable'; return }
  }
  Set-Field 'state' 'regular'
}
function Get-EvidenceDir([string]$p, [int]$content, [int]$depth) {
  Add-Evidence 'dir' $p
  if (-not [System.IO.Directory]::Exists($p)) {
    if (Test-Path -LiteralPath $p) { Set-Field 'state' 'notdir' } else { Set-Field 'state' 'missing' }
    return
  }
  $dI = $script:I
  try { $entries = @((New-Object System.IO.DirectoryInfo($p)).GetFileSystemInfos()) } catch { Set-Field 'state' 'unreadable'; return }
  $sb = New-Object System.Text.StringBuilder
  $sub = @()
  $dc = 0
  foreach ($x in $entries) {
    $dc++; if ($dc -gt MAXENT) { break }
    $script:tc++; if ($script:tc -gt MAXTREE) { break }
    $isDir = ($x.Attributes -band [System.IO.FileAttributes]::Directory) -ne 0
    $isLink = ($x.Attributes -band [System.IO.FileAttributes]::ReparsePoint) -ne 0
    if ($isDir -and $isLink) { [void]$sb.Append('l/').Append($x.Name).Append("` + "`" + `n") }
    elseif ($isDir) { [void]$sb.Append('d/').Append($x.Name).Append("` + "`" + `n"); if ($depth -gt 0) { $sub += $x.FullName } }
    else { [void]$sb.Append('f/').Append($x.Name).Append("` + "`" + `n"); if ($content -eq 1) { $sub += ,@($x.FullName) } }
  }
  [System.IO.File]::WriteAllText((Join-Path $dI 'list'), $sb.ToString(), $Utf8)
  [System.IO.File]::WriteAllText((Join-Path $dI 'state'), 'dir', $Utf8)
  foreach ($s in $sub) {
    if ($s -is [array]) { Get-EvidenceFile $s[0] 1 } else { Get-EvidenceDir $s $content ($depth - 1) }
  }
}
function Get-EvidenceTree([string]$p, [int]$content, [int]$depth) { $script:tc = 0; Get-EvidenceDir $p $content $depth }
function Get-EvidenceProcesses {
  Add-Evidence 'procs' 'processes'
  try { $ps = @(Get-CimInstance -ClassName Win32_Process) } catch { Set-Field 'state' 'missing'; return }
  $sb = New-Object System.Text.StringBuilder
  foreach ($p in $ps) {
    $name = ([string]$p.Name) -replace '[\t\r\n]', ' '
    $exe = ([string]$p.ExecutablePath) -replace '[\t\r\n]', ' '
    [void]$sb.Append([string]$p.ProcessId).Append("` + "`" + `t").Append($name).Append("` + "`" + `t").Append($exe).Append("` + "`" + `n")
  }
  Set-Field 'data' $sb.ToString()
  Set-Field 'state' 'list'
}
function Invoke-Program([string]$prog, [string]$arguments) {
  $psi = New-Object System.Diagnostics.ProcessStartInfo
  $psi.FileName = $prog
  $psi.Arguments = $arguments
  $psi.UseShellExecute = $false
  $psi.CreateNoWindow = $true
  $psi.RedirectStandardInput = $true
  $psi.RedirectStandardOutput = $true
  $psi.RedirectStandardError = $true
  $psi.WorkingDirectory = $W
  try { $p = [System.Diagnostics.Process]::Start($psi) } catch { Set-Field 'state' 'notfound'; return $null }
  $p.StandardInput.Close()
  $outTask = $p.StandardOutput.ReadToEndAsync()
  $errTask = $p.StandardError.ReadToEndAsync()
  if (-not $p.WaitForExit(TIMEOUT * 1000)) {
    try { $p.Kill() } catch { }
    Set-Field 'state' 'timeout'
    return $null
  }
  $p.WaitForExit()
  Set-Field 'status' ([string]$p.ExitCode)
  return (Limit-Text ($outTask.Result + $errTask.Result) MAXDATA)
}
function Invoke-CommandLine([string]$line, [string]$prog, [string]$arguments) {
  Add-Evidence 'cmd' $line
  $text = Invoke-Program $prog $arguments
  if ($null -eq $text) { return }
  Set-Field 'data' $text
  Set-Field 'state' 'ran'
}
function Export-SecurityPolicy {
  Add-Evidence 'secedit' 'secedit /export'
  $cfg = Join-Path $W 'secedit.inf'
  $log = Join-Path $W 'secedit.log'
  $text = Invoke-Program 'secedit.exe' ('/export /cfg "' + $cfg + '" /log "' + $log + '"')
  if ($null -eq $text) { return }
  Set-Field 'output' $text
  if (Test-Path -LiteralPath $cfg) { Set-Field 'data' (Limit-Text ([System.IO.File]::ReadAllText($cfg)) MAXDATA) }
  Set-Field 'state' 'ran'
}
`

const windowsCollectorTail = `$manifest = "format FORMAT` + "`" + `n" + 'policy ' + POLICY + "` + "`" + `n" + "policy-sha256 HASH` + "`" + `n" +
  'created ' + [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ') + "` + "`" + `n" + 'host ' + [string]$env:COMPUTERNAME + "` + "`" + `n" + 'items ' + [string]$script:n + "` + "`" + `n"
[System.IO.File]::WriteAllText((Join-Path $E 'manifest'), $manifest, $Utf8)
if (Get-Command Compress-Archive -ErrorAction SilentlyContinue) {
  Compress-Archive -LiteralPath $E -DestinationPath $Out
  Remove-Item -LiteralPath $W -Recurse -Force
  Write-Host "evidence written to $Out ($script:n items)"
} else {
  Write-Host "Compress-Archive is not available: zip the folder $E (the folder itself, not only its content) into $Out"
}
`

// WriteWindowsCollector writes the PowerShell collection script for p to
// w. Command rules are collected only when allowCommands is set. The
// script takes "-Output FILE.zip" (default vigil-evidence.zip); it works in
// the folder FILE.d next to it, which must not exist yet.
func WriteWindowsCollector(w io.Writer, p *Policy, allowCommands bool) error {
	pl := planWindowsEvidence(p, allowCommands)
	var b strings.Builder
	// A byte order mark: Windows PowerShell 5.1 reads a script without one
	// in the ANSI code page.
	b.WriteString("\ufeff")
	fmt.Fprintf(&b, "# Vigil offline evidence collector (Windows) for policy %s.\n", strings.Map(printable, p.ID))
	b.WriteString("# Generated; run as an administrator:\n")
	b.WriteString("#   powershell -NoProfile -ExecutionPolicy Bypass -File collect.ps1 [-Output evidence.zip]\n")
	b.WriteString("# Then evaluate: vigil baseline check --policy POLICY --evidence evidence.zip\n")
	b.WriteString("# It uses no network and writes only the folder evidence.d (removed after zipping) and the zip.\n")
	head := strings.NewReplacer(
		"MAXDATA", strconv.Itoa(bundleMaxData),
		"MAXENT", strconv.Itoa(bundleMaxEntries),
		"MAXTREE", strconv.Itoa(defaultMaxDirTree),
		"MAXVALUE", strconv.Itoa(scaMaxData),
		"TIMEOUT", strconv.Itoa(bundleCmdTimeoutS),
	).Replace(windowsCollectorHead)
	b.WriteString(head)
	for _, lk := range sortedKeys(pl.keys) {
		if k := pl.keys[lk]; psPrintable(k[0]) {
			fmt.Fprintf(&b, "Get-RegistryKey %s %s %s\n", psQuote(k[0]), psQuote(k[1]), psQuote(k[2]))
		}
	}
	for _, f := range sortedKeys(pl.files) {
		flag := "0"
		if pl.files[f] {
			flag = "1"
		}
		if name := fromSlash(f); psPrintable(name) {
			fmt.Fprintf(&b, "Get-EvidenceFile %s %s\n", psQuote(name), flag)
		}
	}
	for _, d := range sortedKeys(pl.dirs) {
		flag := "0"
		if pl.dirs[d].content {
			flag = "1"
		}
		if name := fromSlash(path.Clean(d)); psPrintable(name) {
			fmt.Fprintf(&b, "Get-EvidenceTree %s %s %d\n", psQuote(name), flag, pl.dirs[d].depth)
		}
	}
	if pl.procs {
		b.WriteString("Get-EvidenceProcesses\n")
	}
	if pl.secedit {
		b.WriteString("Export-SecurityPolicy\n")
	}
	for _, line := range sortedKeys(pl.cmds) {
		if psPrintable(line) {
			fmt.Fprintf(&b, "Invoke-CommandLine %s %s %s\n", psQuote(line), psQuote(pl.cmds[line][0]), psQuote(pl.cmds[line][1]))
		}
	}
	b.WriteString(strings.NewReplacer("FORMAT", windowsEvidenceFormat, "POLICY", psQuote(strings.Map(printable, p.ID)), "HASH", p.SHA256).Replace(windowsCollectorTail))
	_, err := io.WriteString(w, b.String())
	return err
}

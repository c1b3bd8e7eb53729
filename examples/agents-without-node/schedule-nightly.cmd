@echo off
rem Plants that schedule without CI: Windows Task Scheduler runs the single-file executable every
rem night at 01:30 as the ExportModule is scheduled today, and keeps its JSON result beside the ZIPs
rem (each ZIP is named after its order; last-run.json names the night's ZIP and its SHA-256).
rem Run this once, as an administrator. The access token is read from a file only the task's account
rem may read (icacls), never from the command line.
rem   C:\octoplant-backup\octoplant-export.exe   the executable, checked against SHA256SUMS
rem   C:\octoplant-backup\token.txt              the CI user's access token (AdminClient)
rem   C:\octoplant-backup\octoplant-ca.pem       the server's certificate or the plant CA

set DIR=C:\octoplant-backup
if not exist "%DIR%\backups" mkdir "%DIR%\backups"
icacls "%DIR%\token.txt" /inheritance:r /grant:r "SYSTEM:R" "Administrators:F"

schtasks /Create /F /TN "octoplant nightly export" /SC DAILY /ST 01:30 /RU SYSTEM ^
  /TR "cmd /c cd /d %DIR% && octoplant-export.exe --server-url https://octoplant.plant.local:64023 --token-file token.txt --ca-certificate octoplant-ca.pem --path backups > backups\last-run.json 2>> backups\last-run.log"

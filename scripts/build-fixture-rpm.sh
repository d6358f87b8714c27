#!/usr/bin/env bash
# Rebuilds __tests__/fixtures/demo-c++-1.0^20260101git-1.noarch.rpm, the real rpmbuild RPM
# the verifier's unit tests read (needs Debian's `rpm` package).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/demo.spec" <<'SPEC'
Name: demo-c++
Version: 1.0^20260101git
Release: 1
Summary: rpm-cache test package
License: MIT
BuildArch: noarch
%description
Test package.
%install
mkdir -p %{buildroot}/usr/share/rpm-cache-demo
echo "%{name} %{version}" > %{buildroot}/usr/share/rpm-cache-demo/%{name}.txt
%files
/usr/share/rpm-cache-demo/%{name}.txt
SPEC
rpmbuild -bb --nodeps --define "_topdir $work/top" --define "_rpmdir $root/__tests__/fixtures" \
  --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' "$work/demo.spec"

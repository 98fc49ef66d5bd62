// The mount's capabilities file: one `name value` line per KVM_CAP_*.

/** `values` pairs a capability's name with what KVM_CHECK_EXTENSION returned for it. */
export function renderCapabilities(values: ReadonlyArray<readonly [name: string, value: number]>): string {
  return values.map(([name, value]) => `${name} ${value}\n`).join('');
}

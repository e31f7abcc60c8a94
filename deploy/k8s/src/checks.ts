/**
 * Small validators shared by the constructs and the environment table. Each returns the
 * problem as `<where>: <what is wrong>, got <value>`, or nothing.
 */

import { isIPv4, isIPv6 } from 'node:net';

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** An integer in [min, max]. */
export function checkInteger(where: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): string[] {
  if (!Number.isInteger(value)) return [`${where}: must be an integer, got ${show(value)}`];
  if (value < min) return [`${where}: must be ≥ ${min}, got ${show(value)}`];
  if (value > max) return [`${where}: must be ≤ ${max}, got ${show(value)}`];
  return [];
}

// A CPU or memory quantity as Kubernetes accepts it (the common forms: 100m, 0.5, 64Mi, 1G).
const quantity = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** A Kubernetes resource quantity such as `100m` or `64Mi`. */
export function checkQuantity(where: string, value: string): string[] {
  return quantity.test(value) ? [] : [`${where}: must be a Kubernetes quantity such as 100m or 64Mi, got ${show(value)}`];
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** An RFC 1123 label: what Kubernetes accepts as a namespace or Service name. */
export function checkDnsLabel(where: string, value: string): string[] {
  return value.length <= 63 && dnsLabel.test(value)
    ? []
    : [`${where}: must be a DNS label (lower-case letters, digits and '-', at most 63 characters), got ${show(value)}`];
}

const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A Kubernetes label value (at most 63 characters, alphanumeric at both ends). */
export function checkLabelValue(where: string, value: string): string[] {
  return value.length <= 63 && labelValue.test(value) ? [] : [`${where}: must be a valid label value, got ${show(value)}`];
}

export { show };

const labelName = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes label key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
export function checkLabelKey(where: string, key: string): string[] {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  const ok = name.length <= 63 && labelName.test(name) && (prefix === undefined || (prefix.length <= 253 && dnsSubdomain.test(prefix)));
  return ok ? [] : [`${where}: keys must be label keys such as release or example.com/team, got ${show(key)}`];
}

/**
 * An IPv4 or IPv6 CIDR (`10.0.0.0/16`, `fd00::/64`), as a NetworkPolicy's `ipBlock` takes it,
 * and not every address (which would make the rule it is in admit anyone).
 */
export function checkCidr(where: string, value: string): string[] {
  const [address = '', bits, ...rest] = value.split('/');
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : 0;
  if (max === 0 || rest.length > 0 || bits === undefined || !/^[0-9]{1,3}$/.test(bits) || Number(bits) > max) {
    return [`${where}: must be a CIDR such as 10.0.0.0/16 or fd00::/64, got ${show(value)}`];
  }
  if (Number(bits) === 0) return [`${where}: must not be 0.0.0.0/0 or ::/0 (that would open the metrics port to everyone), got ${show(value)}`];
  return [];
}

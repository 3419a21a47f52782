// Package: billed units rounded up to whole packages, each at the package price.
import { type Dec, formatDecimal, parseDecimal } from "../money";
import { applyAllowance, includedField, includedUnits, usageQuantity } from "./allowances";
import type { ExactLine } from "./lines";
import type { PackagePrice, UsageInput } from "./types";

/** ceil(units / size), exactly: an integer quotient, plus one if it leaves a remainder. */
export function packagesFor(units: Dec, size: Dec): Dec {
  const whole = units.dividedToIntegerBy(size);
  return whole.times(size).lt(units) ? whole.plus(1) : whole;
}

/** NOTE: 0 units are 0 packages (nothing charged); 1000 units in packages of 1000 are 1 package, 1001 are 2. */
export function packageLines(price: PackagePrice, usage: UsageInput): ExactLine[] {
  const { included, billed } = applyAllowance(usageQuantity(usage.quantity), includedUnits(price));
  const size = parseDecimal(price.package_size);
  const packages = packagesFor(billed, size);
  return [
    {
      name: price.name,
      price_id: price.id,
      meter_code: price.meter_code,
      quantity: formatDecimal(billed),
      unit_price: price.package_price,
      packages: formatDecimal(packages),
      package_size: price.package_size,
      ...includedField(price, included),
      exact: packages.times(parseDecimal(price.package_price)),
      description: `${formatDecimal(billed)} units in ${formatDecimal(packages)} package(s) of ${price.package_size} at ${price.package_price} each`,
    },
  ];
}

// How the dashboard writes money, quantities, dates and prices for people ("$0.10 / GB for the first 100 GB…").
import { Dec, formatAmount, formatDecimal, parseDecimal } from "../domain/money";
import type { PriceValue } from "../schemas/plans";

const SYMBOLS: Record<string, string> = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", CAD: "CA$", AUD: "A$", INR: "₹", CHF: "CHF " };

function groupThousands(integer: string): string {
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A decimal string with thousands separators, never through a float: "1234567.5" → "1,234,567.5". */
export function number(text: string): string {
  const negative = text.startsWith("-");
  const [int, frac] = (negative ? text.slice(1) : text).split(".");
  return `${negative ? "-" : ""}${groupThousands(int ?? "0")}${frac ? `.${frac}` : ""}`;
}

/** An invoice amount with the currency's minor digits: "$50.80", "¥1,235", "1.235 KWD". */
export function money(amount: string, currency: string): string {
  const text = number(formatAmount(amount, currency));
  const symbol = SYMBOLS[currency];
  return symbol ? (text.startsWith("-") ? `-${symbol}${text.slice(1)}` : `${symbol}${text}`) : `${text} ${currency}`;
}

/** A unit rate keeps every digit it was given ("$0.000125"), but at least the currency's minor digits ("$0.10"). */
export function rate(amount: string, currency: string): string {
  const exact = formatDecimal(amount);
  const minor = formatAmount(amount, currency);
  const text = parseDecimal(minor).eq(parseDecimal(exact)) ? minor : exact;
  const symbol = SYMBOLS[currency];
  return symbol ? `${symbol}${number(text)}` : `${number(text)} ${currency}`;
}

export function quantity(text: string | null | undefined): string {
  return text === null || text === undefined ? "" : number(formatDecimal(text));
}

/** "2026-03-01 12:34 UTC" — finance people read dates, not RFC 3339. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** To the second (and the millisecond when there is one): events of the same minute must be told apart. */
export function preciseTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const fraction = /\.(\d+)Z$/.exec(iso)?.[1];
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ""} UTC`;
}

export function date(iso: string | null | undefined): string {
  return iso ? iso.slice(0, 10) : "—";
}

/** The unit a usage price counts, for sentences: "$0.08 / API Call … the first 100 API Calls". */
export interface Unit {
  one: string;
  many: string;
}

/**
 * The meter's display name as a unit. Display names are usually plural ("API Calls", "Tokens"); "per" reads in the
 * singular, so a plural last word loses its "s" (abbreviations such as "GB" are left alone).
 */
export function unitOf(displayName: string): Unit {
  const words = displayName.split(" ");
  const last = words.pop() ?? "";
  let one = last;
  // Abbreviations ("GB", "API"), short words and singulars ending in s ("Access", "Status", "Analysis") stay as they are.
  if (/^[A-Z0-9]+$/.test(last) || last.length < 4 || /(ss|us|is)$/.test(last)) one = last;
  else if (/(sses|xes|ches|shes)$/.test(last)) one = last.slice(0, -2);
  else if (/[^aeiou]ies$/.test(last)) one = `${last.slice(0, -3)}y`;
  else if (/s$/.test(last)) one = last.slice(0, -1);
  return { one: [...words, one].join(" "), many: displayName };
}

function tierWords(
  tiers: { up_to: string | null; unit_price: string; flat_price: string | null }[],
  currency: string,
  units: Unit,
  model: "graduated" | "volume",
): string {
  const unit = units.many;
  const parts: string[] = [];
  let previous: Dec | null = null;
  tiers.forEach((tier, i) => {
    const each = `${rate(tier.unit_price, currency)} / ${units.one}`;
    const flat = tier.flat_price && !parseDecimal(tier.flat_price).isZero() ? ` + ${rate(tier.flat_price, currency)} flat` : "";
    if (model === "graduated") {
      if (tier.up_to === null) parts.push(previous === null ? `${each}${flat}` : `${each} beyond ${quantity(previous.toFixed())} ${unit}${flat}`);
      else if (i === 0) parts.push(`${each} for the first ${quantity(tier.up_to)} ${unit}${flat}`);
      else parts.push(`${each} for the next ${quantity(parseDecimal(tier.up_to).minus(previous!).toFixed())} ${unit}${flat}`);
    } else {
      const from = previous === null ? "0" : previous.toFixed();
      if (tier.up_to === null) parts.push(`${each} on all units once the total is above ${quantity(from)} ${unit}${flat}`);
      else parts.push(`${each} on all units when the total is ${previous === null ? "" : `above ${quantity(from)} and `}up to ${quantity(tier.up_to)} ${unit}${flat}`);
    }
    if (tier.up_to !== null) previous = parseDecimal(tier.up_to);
  });
  return parts.join(", ");
}

/** A price in one sentence, as on a pricing page. */
export function priceInWords(price: PriceValue, currency: string, units: Unit): string {
  const unit = units.many;
  if (price.type === "fixed") return `${money(price.amount, currency)} per period (${price.name})`;
  let words: string;
  switch (price.model) {
    case "per_unit":
      words = `${rate(price.unit_price, currency)} / ${units.one}`;
      break;
    case "graduated":
      words = tierWords(price.tiers, currency, units, "graduated");
      break;
    case "volume":
      words = tierWords(price.tiers, currency, units, "volume");
      break;
    case "package":
      words = `${rate(price.package_price, currency)} per package of ${quantity(price.package_size)} ${unit} (partial packages round up)`;
      break;
    case "percentage":
      words = `${quantity(price.percent)}% of the summed amount${price.fixed_fee_per_event ? ` + ${rate(price.fixed_fee_per_event, currency)} per event` : ""}`;
      break;
    case "dimensional": {
      const rates = Object.entries(price.rates).map(([value, r]) => `${rate(r, currency)} / ${units.one} for ${price.dimension} ${value}`);
      if (price.default_rate) rates.push(`${rate(price.default_rate, currency)} / ${units.one} for any other ${price.dimension}`);
      words = rates.join(", ");
      break;
    }
  }
  const extras: string[] = [];
  if (price.included_units) extras.push(`the first ${quantity(price.included_units)} ${unit} each period are included`);
  if (price.minimum_amount) extras.push(`at least ${money(price.minimum_amount, currency)} per period`);
  if (price.maximum_amount) extras.push(`at most ${money(price.maximum_amount, currency)} per period`);
  return `${price.name}: ${words}${extras.length ? `; ${extras.join("; ")}` : ""}`;
}

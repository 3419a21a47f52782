// What people type into the dashboard's amount fields ("$1,250.50", "10,00 €", "-5") → the API's decimal strings.
import { minorUnits, normalizeCurrency } from "../domain/currency";
import { formatDecimal } from "../domain/money";

export type Parsed = { ok: true; value: string } | { ok: false; message: string };

/** Signs a form may carry before or after the number, longest first; `null`: any of several currencies ("$"). */
const SYMBOLS: [string, string[] | null][] = [
  ["US$", ["USD"]],
  ["CA$", ["CAD"]],
  ["A$", ["AUD"]],
  ["$", null],
  ["€", ["EUR"]],
  ["£", ["GBP"]],
  ["¥", ["JPY", "CNY"]],
  ["₹", ["INR"]],
];

const EXAMPLE = "Type an amount such as 1250.50 (a currency sign and thousands separators are fine: $1,250.50)";

/** A leading or trailing currency sign or ISO code: what is left, and the currencies it could mean. */
function stripCurrency(text: string, at: "start" | "end"): { rest: string; named: string[] | null; found: string | null } {
  for (const [symbol, currencies] of SYMBOLS) {
    if (at === "start" ? text.startsWith(symbol) : text.endsWith(symbol)) {
      return { rest: at === "start" ? text.slice(symbol.length) : text.slice(0, -symbol.length), named: currencies, found: symbol };
    }
  }
  const code = at === "start" ? /^[A-Za-z]{3}(?![A-Za-z])/.exec(text)?.[0] : /(?<![A-Za-z])[A-Za-z]{3}$/.exec(text)?.[0];
  const currency = code ? normalizeCurrency(code) : null;
  if (code && currency) return { rest: at === "start" ? text.slice(3) : text.slice(0, -3), named: [currency], found: currency };
  return { rest: text, named: null, found: null };
}

/**
 * The number part with its separators read the way an English-speaking user writes it, plus the unambiguous
 * European forms: "1,250.50", "1250.50", "1'250.50", "1.250,50", "10,5" and "10,00" (a comma before one, two or
 * four-plus digits is a decimal comma). NOTE: "1.000" is refused when the currency has fewer than three minor
 * digits: it is 1 to the API but 1000 to anyone who groups with dots, and a thousandfold credit is no typo to guess.
 */
function readNumber(text: string, currency: string | null, rate = false): string | null {
  if (!/^[0-9.,']+$/.test(text) || !/\d/.test(text)) return null;
  const dots = text.split(".").length - 1;
  const commas = text.split(",").length - 1;
  let decimal: "." | "," | null = null;
  if (dots > 0 && commas > 0) decimal = text.lastIndexOf(".") > text.lastIndexOf(",") ? "." : ",";
  else if (dots === 1) decimal = ".";
  else if (commas === 1 && text.length - text.indexOf(",") - 1 !== 3) decimal = ",";
  let integer = text;
  let fraction = "";
  if (decimal !== null) {
    const at = text.lastIndexOf(decimal);
    integer = text.slice(0, at);
    fraction = text.slice(at + 1);
    if (!/^\d+$/.test(fraction) || integer.includes(decimal)) return null;
    if (integer === "") integer = "0";
  }
  const groups = integer.split(/[.,']/);
  if (groups.length > 1) {
    const separators = new Set(integer.replace(/\d/g, ""));
    if (separators.size !== 1 || !/^\d{1,3}$/.test(groups[0]!) || groups.slice(1).some((g) => !/^\d{3}$/.test(g))) return null;
  }
  if (!rate && decimal === "." && dots === 1 && commas === 0 && fraction.length === 3 && /^[1-9]\d{0,2}$/.test(integer)) {
    const minor = currency ? minorUnits(currency) : 2;
    if (minor < 3) return "ambiguous";
  }
  const digits = groups.join("");
  return fraction === "" ? digits : `${digits}.${fraction}`;
}

/**
 * An amount as typed → the API's decimal string ("-5.00", "1250.50"); the API's schema then checks it as it checks
 * any client's. `currency` (when known) catches "€10" typed for a USD grant; `signed` allows a minus sign; `rate` reads
 * "1.125" as a decimal (a unit price), where an amount would refuse it as ambiguous.
 */
export function amountInput(raw: string, options: { currency?: string | null; signed?: boolean; rate?: boolean } = {}): Parsed {
  let text = raw.replace(/[\u2212\u2012\u2013]/g, "-").replace(/\s+/g, "");
  if (text === "") return { ok: false, message: EXAMPLE };
  let negative = false;
  const takeSign = () => {
    if (text.startsWith("-") || text.startsWith("+")) {
      negative ||= text.startsWith("-");
      text = text.slice(1);
    }
  };
  takeSign();
  const start = stripCurrency(text, "start");
  text = start.rest;
  takeSign();
  const end = stripCurrency(text, "end");
  text = end.rest;
  const currency = options.currency ? normalizeCurrency(options.currency) : null;
  const typed = [start, end].filter((t) => t.found !== null);
  for (const t of typed) {
    if (t.named && currency && !t.named.includes(currency)) {
      return { ok: false, message: `You typed ${t.found}, but the currency is ${currency}: change one of them` };
    }
  }
  const named = typed.find((t) => t.named?.length === 1)?.named?.[0] ?? null;
  // NOTE: a unit price ("rate") often has three or more decimals ($1.125 per GB): its dot is a decimal point.
  const number = readNumber(text, currency ?? named, options.rate === true);
  if (number === "ambiguous") {
    return { ok: false, message: `${text} could mean ${formatDecimal(text)} or ${text.replace(".", "")}: type it without the dot, or with two decimals` };
  }
  if (number === null) return { ok: false, message: EXAMPLE };
  if (negative && !options.signed) return { ok: false, message: "must be a positive amount" };
  if (options.signed && /^[0.]+$/.test(number)) return { ok: false, message: "must not be zero: 5.00 adds to the balance, -5.00 takes from it" };
  return { ok: true, value: negative ? `-${number}` : number };
}

// The customer-facing invoice as a PDF (US Letter), drawn with pdf-lib from the same InvoiceDocument as the hosted page.
import { PDFDocument, rgb, StandardFonts, type PDFFont, type PDFPage } from "pdf-lib";
import type { InvoiceDocument } from "./invoice-document";

const WIDTH = 612;
const HEIGHT = 792;
const MARGIN = 48;
const RIGHT = WIDTH - MARGIN;
/** Room kept at the bottom of every page for its footer. */
const FOOTER = 40;

const INK = rgb(0.11, 0.14, 0.2);
const MUTED = rgb(0.36, 0.39, 0.47);
const LINE = rgb(0.85, 0.87, 0.91);
const TEST = rgb(0.96, 0.51, 0.04);

/** Right edges of the number columns and the description's width, in points. */
const COLUMNS = { qty: 380, unit: 470, amount: RIGHT };
const DESCRIPTION_WIDTH = 250;

// NOTE: the standard fonts (no font file in the bundle) encode WinAnsi only. These have a readable stand-in; anything
// else a name may hold (CJK, emoji) becomes "?" in the PDF, while the hosted page shows it as written.
const STAND_INS: Record<string, string> = { "−": "-", "₹": "Rs ", "∞": "inf", "→": "->", "\u00a0": " ", "\u2009": " " };

interface Fonts {
  regular: PDFFont;
  bold: PDFFont;
}

/** Text the font can encode: stand-ins first, then letters without their accents, then "?". */
function encodable(font: PDFFont, text: string): string {
  const known = charsets.get(font) ?? new Set(font.getCharacterSet());
  charsets.set(font, known);
  let out = "";
  for (const ch of text) {
    if (known.has(ch.codePointAt(0)!)) out += ch;
    else if (STAND_INS[ch] !== undefined) out += STAND_INS[ch];
    else {
      const bare = ch.normalize("NFKD").replace(/\p{M}/gu, "");
      out += bare && [...bare].every((c) => known.has(c.codePointAt(0)!)) ? bare : "?";
    }
  }
  return out;
}
const charsets = new WeakMap<PDFFont, Set<number>>();

/** Splits text into lines no wider than `width`, breaking at spaces, or inside a word that alone is too wide. */
function wrap(font: PDFFont, size: number, text: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  const fits = (s: string) => font.widthOfTextAtSize(s, size) <= width;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = current ? `${current} ${word}` : word;
    if (fits(candidate)) {
      current = candidate;
      continue;
    }
    if (current) lines.push(current);
    current = "";
    let rest = word;
    while (!fits(rest)) {
      let cut = rest.length - 1;
      while (cut > 1 && !fits(rest.slice(0, cut))) cut--;
      lines.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    current = rest;
  }
  if (current) lines.push(current);
  return lines.length ? lines : [""];
}

/** A writer that moves down the page and starts a new one (with the table header again) when the next block does not fit. */
class Writer {
  page: PDFPage;
  y = HEIGHT - MARGIN;
  readonly pages: PDFPage[] = [];

  constructor(
    private readonly pdf: PDFDocument,
    readonly fonts: Fonts,
    private readonly onNewPage: (w: Writer) => void,
  ) {
    this.page = this.addPage();
  }

  private addPage(): PDFPage {
    const page = this.pdf.addPage([WIDTH, HEIGHT]);
    this.pages.push(page);
    this.y = HEIGHT - MARGIN;
    return page;
  }

  /** Makes room for `height` points, breaking the page when needed. */
  need(height: number) {
    if (this.y - height >= MARGIN + FOOTER) return;
    this.page = this.addPage();
    this.onNewPage(this);
  }

  text(text: string, x: number, opts: { size?: number; bold?: boolean; color?: ReturnType<typeof rgb>; align?: "left" | "right" | "center"; maxWidth?: number } = {}) {
    const font = opts.bold ? this.fonts.bold : this.fonts.regular;
    const clean = encodable(font, text);
    let size = opts.size ?? 10;
    // A number wider than its column (a 30-digit quantity) shrinks rather than running into its neighbour.
    if (opts.maxWidth) while (size > 5 && font.widthOfTextAtSize(clean, size) > opts.maxWidth) size -= 0.5;
    const width = font.widthOfTextAtSize(clean, size);
    this.page.drawText(clean, { x: opts.align === "right" ? x - width : opts.align === "center" ? x - width / 2 : x, y: this.y, size, font, color: opts.color ?? INK });
  }

  rule(color = LINE, thickness = 0.75) {
    this.page.drawLine({ start: { x: MARGIN, y: this.y }, end: { x: RIGHT, y: this.y }, thickness, color });
  }
}

function tableHeader(w: Writer) {
  w.need(24);
  w.y -= 12;
  for (const [label, x, align] of [
    ["DESCRIPTION", MARGIN, "left"],
    ["QTY", COLUMNS.qty, "right"],
    ["UNIT PRICE", COLUMNS.unit, "right"],
    ["AMOUNT", COLUMNS.amount, "right"],
  ] as const) {
    w.text(label, x, { size: 8, bold: true, color: MUTED, align });
  }
  w.y -= 6;
  w.rule();
}

function row(w: Writer, cells: { description: string[]; quantity: string; unitPrice: string; amount: string }, opts: { size: number; indent: number; color: ReturnType<typeof rgb>; bold?: boolean }) {
  const lead = opts.size + 3;
  const wrapped = cells.description.flatMap((d, i) =>
    wrap(i === 0 && opts.bold ? w.fonts.bold : w.fonts.regular, i === 0 ? opts.size : opts.size - 1, encodable(w.fonts.regular, d), DESCRIPTION_WIDTH - opts.indent).map((text) => ({ text, first: i === 0 })),
  );
  w.need(wrapped.length * lead + 10);
  w.y -= lead + 4;
  const top = w.y;
  w.text(cells.quantity, COLUMNS.qty, { size: opts.size, color: opts.color, align: "right", maxWidth: 80 });
  w.text(cells.unitPrice, COLUMNS.unit, { size: opts.size, color: opts.color, align: "right", maxWidth: 85 });
  w.text(cells.amount, COLUMNS.amount, { size: opts.size, color: opts.color, align: "right", maxWidth: 90 });
  wrapped.forEach((line, i) => {
    if (i > 0) w.y -= lead;
    w.text(line.text, MARGIN + opts.indent, { size: line.first ? opts.size : opts.size - 1, color: line.first ? opts.color : MUTED, bold: line.first && !!opts.bold });
  });
  w.y = Math.min(w.y, top) - 5;
  w.rule();
}

/**
 * The PDF's bytes. `hostedUrl` is printed so a printed or forwarded copy still leads to the page (and its Pay button).
 * NOTE: saved without object streams (plain objects, as every PDF reader since 1.4 takes them); dates are the invoice's
 * own, so the same invoice always gives the same document.
 */
export async function invoicePdf(doc: InvoiceDocument, opts: { hostedUrl: string; issuedAt: Date; payable: boolean }): Promise<Uint8Array<ArrayBuffer>> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(`${doc.title} from ${doc.seller}`);
  pdf.setAuthor(doc.seller);
  pdf.setSubject(`${doc.title} for ${doc.billTo.name}: ${doc.amountDue} (${doc.headline})`);
  pdf.setCreator("Meterline");
  pdf.setProducer("Meterline (pdf-lib)");
  pdf.setCreationDate(opts.issuedAt);
  pdf.setModificationDate(opts.issuedAt);
  const fonts = { regular: await pdf.embedFont(StandardFonts.Helvetica), bold: await pdf.embedFont(StandardFonts.HelveticaBold) };
  const w = new Writer(pdf, fonts, tableHeader);

  if (doc.test) {
    w.page.drawRectangle({ x: 0, y: HEIGHT - 22, width: WIDTH, height: 22, color: TEST });
    w.y = HEIGHT - 15;
    w.text("TEST MODE - a test invoice: nothing on it is charged for real", WIDTH / 2, { size: 9, bold: true, color: rgb(1, 1, 1), align: "center" });
    w.y = HEIGHT - MARGIN;
  }

  // Seller and title on the left, the amount and its headline on the right.
  w.y -= 6;
  w.text(doc.seller, MARGIN, { size: 16, bold: true, maxWidth: 300 });
  w.text(doc.amountDue, RIGHT, { size: 20, bold: true, align: "right", maxWidth: 220 });
  w.y -= 20;
  w.text(`${doc.title}  ·  ${doc.status === "finalized" ? "Open" : doc.status === "paid" ? "Paid" : "Void"}`, MARGIN, { size: 12, color: MUTED });
  w.text(doc.headline, RIGHT, { size: 10, color: MUTED, align: "right" });
  w.y -= 30;

  // Bill to on the left, the invoice's facts on the right.
  const factsTop = w.y;
  w.text("BILL TO", MARGIN, { size: 8, bold: true, color: MUTED });
  for (const line of [doc.billTo.name, ...(doc.billTo.email ? [doc.billTo.email] : [])]) {
    for (const part of wrap(fonts.regular, 10, encodable(fonts.regular, line), 240)) {
      w.y -= 14;
      w.text(part, MARGIN, { size: 10, bold: line === doc.billTo.name });
    }
  }
  const billToBottom = w.y;
  w.y = factsTop;
  for (const f of doc.facts) {
    w.text(f.label, 340, { size: 9, color: MUTED });
    w.text(f.value, RIGHT, { size: 9, align: "right", maxWidth: 150 });
    w.y -= 13;
  }
  w.y = Math.min(w.y + 13, billToBottom) - 24;

  tableHeader(w);
  for (const l of doc.lines) {
    row(w, { description: [l.name, ...l.details], quantity: l.quantity, unitPrice: l.unitPrice, amount: l.amount }, { size: 10, indent: 0, color: INK, bold: true });
    for (const t of l.tiers) row(w, { description: [t.label], quantity: t.quantity, unitPrice: t.unitPrice, amount: t.amount }, { size: 9, indent: 14, color: MUTED });
  }

  w.y -= 8;
  for (const t of doc.totals) {
    const strong = t.kind === "total" || t.kind === "due";
    w.need(t.kind === "due" ? 28 : 16);
    if (t.kind === "due") {
      // The rule sits below the row above (clear of its descenders) and above the amount due.
      w.y -= 7;
      w.page.drawLine({ start: { x: 330, y: w.y }, end: { x: RIGHT, y: w.y }, thickness: 1.2, color: INK });
      w.y -= 4;
    }
    w.y -= 14;
    w.text(t.label, COLUMNS.unit, { size: t.kind === "due" ? 12 : 10, bold: strong, align: "right", maxWidth: 260 });
    w.text(t.amount, COLUMNS.amount, { size: t.kind === "due" ? 12 : 10, bold: strong, align: "right", maxWidth: 90 });
  }

  w.need(40);
  w.y -= 32;
  w.text(opts.payable ? "Pay online:" : "View online:", MARGIN, { size: 9, bold: true });
  for (const part of wrap(fonts.regular, 8, opts.hostedUrl, RIGHT - MARGIN - 70)) {
    w.text(part, MARGIN + 70, { size: 8, color: rgb(0.2, 0.32, 0.82) });
    w.y -= 11;
  }

  // Footers last, when the page count is known.
  w.pages.forEach((page, i) => {
    const footer = `${doc.title} · ${doc.seller} · Page ${i + 1} of ${w.pages.length}`;
    const clean = encodable(fonts.regular, footer);
    page.drawText(clean, { x: MARGIN, y: MARGIN - 14, size: 8, font: fonts.regular, color: MUTED });
  });
  // A copy typed as ArrayBuffer-backed, which is what a Response body takes (pdf-lib's type leaves it open).
  return new Uint8Array(await pdf.save({ useObjectStreams: false }));
}

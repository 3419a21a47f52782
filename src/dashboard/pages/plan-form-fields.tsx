// The plan form's fields, shared by "Create plan" (plans.tsx) and "Edit plan" (plan-edit.tsx) so both read alike and
// plan-form.ts reads either one the same way.
import type { FC } from "hono/jsx";
import { BILLING_INTERVALS } from "../../schemas/plans";
import { CheckboxField, Field, FormError, SelectField, type FormState } from "../layout";
import { MODELS, USAGE_ROWS } from "./plan-form";

type Option = { value: string; label: string };

/**
 * The meter choices with any meter code the form already holds added, so a plan whose meter is not among the first
 * page of meters is still shown (and sent back) with it rather than silently losing the price.
 */
function withHeldCodes(options: Option[], form: FormState): Option[] {
  const known = new Set(options.map((o) => o.value));
  const held = Array.from({ length: USAGE_ROWS }, (_, u) => form.values[`usage[${u}].meter_code`] ?? "").filter((code) => code && !known.has(code));
  return [{ value: "", label: "— none —" }, ...options, ...[...new Set(held)].map((code) => ({ value: code, label: code }))];
}

const TiersField: FC<{ form: FormState; u: number }> = ({ form, u }) => {
  const name = `usage[${u}].tiers`;
  return (
    <div class={`field${form.errors[name] ? " has-error" : ""}`} style="margin-top:8px">
      <label for={`f-usage-${u}-tiers`}>Tiers (graduated / volume)</label>
      <textarea id={`f-usage-${u}-tiers`} name={name} placeholder={"100 0.10\n1000 0.09\n* 0.08"}>
        {form.values[name] ?? ""}
      </textarea>
      {form.errors[name] ? (
        <span class="error" data-error-for={name}>
          {form.errors[name]}
        </span>
      ) : (
        <span class="hint">One tier per line: up to (inclusive) and unit price, optionally a flat fee; the last line starts with *.</span>
      )}
    </div>
  );
};

/** Everything inside the plan form but its CSRF tokens and buttons. `meters`: the account's meters as select options. */
export const PlanFormFields: FC<{ form: FormState; meters: Option[] }> = ({ form, meters }) => {
  const meterOptions = withHeldCodes(meters, form);
  return (
    <>
      <FormError state={form} />
      <div class="grid">
        <Field state={form} name="name" label="Name" placeholder="Pro" />
        <Field state={form} name="description" label="Description" hint="Optional, for your team" />
        <Field state={form} name="currency" label="Currency" hint="ISO 4217, e.g. USD" />
        <SelectField state={form} name="billing_interval" label="Billing interval" options={BILLING_INTERVALS.map((b) => ({ value: b, label: b }))} />
        <Field state={form} name="net_terms_days" label="Net terms (days)" hint="0 = due on receipt (needed for auto-pay)" />
        <Field state={form} name="grace_period_hours" label="Grace period (hours)" hint="Late events still bill during it" />
        <CheckboxField state={form} name="auto_pay" label="Auto-pay by default" />
      </div>
      <h3>Commitment and progressive billing</h3>
      <div class="grid">
        <Field state={form} name="minimum_spend" label="Minimum spend per period" placeholder="100.00" hint="Optional: a period billing less gets a Minimum commitment line for the difference" />
        <Field
          state={form}
          name="invoice_threshold"
          label="Invoice threshold (bill mid-period when the amount due reaches)"
          placeholder="500.00"
          hint="Optional: an interim invoice bills everything so far"
        />
      </div>
      <h3>Fixed fee</h3>
      <div class="grid">
        <Field state={form} name="fixed_name" label="Name" placeholder="Platform fee" />
        <Field state={form} name="fixed_amount" label="Amount per period" placeholder="50.00" hint="Leave empty for none" />
      </div>
      {Array.from({ length: USAGE_ROWS }, (_, u) => {
        const row = (
          <>
            <div class="grid">
              <SelectField state={form} name={`usage[${u}].meter_code`} label="Meter" options={meterOptions} hint="— none — removes this price" />
              <SelectField state={form} name={`usage[${u}].model`} label="Model" options={MODELS} />
              <Field state={form} name={`usage[${u}].unit_price`} label="Unit price" placeholder="0.08" hint="Per unit" />
              <Field state={form} name={`usage[${u}].included_units`} label="Included units" hint="Free allowance per period" />
              <Field state={form} name={`usage[${u}].package_size`} label="Package size" hint="Package model" />
              <Field state={form} name={`usage[${u}].package_price`} label="Package price" hint="Package model" />
              <Field state={form} name={`usage[${u}].name`} label="Name on invoices" hint="Optional: the meter's name by default" />
            </div>
            <TiersField form={form} u={u} />
          </>
        );
        // The first usage price is always shown; the others fold away until used.
        const used = Object.keys(form.values).some((k) => k.startsWith(`usage[${u}].`) && form.values[k] !== "" && !k.endsWith(".model"));
        const failed = Object.keys(form.errors).some((k) => k.startsWith(`usage[${u}].`));
        return u === 0 ? (
          <>
            <h3>Usage price</h3>
            {row}
          </>
        ) : (
          <details style="margin-top:14px" open={used || failed}>
            <summary>Another usage price ({u + 1})</summary>
            {row}
          </details>
        );
      })}
      <details style="margin-top:14px" open={Boolean(form.values.prices_json)}>
        <summary>Advanced: prices as the API's JSON (every model, replaces the rows above)</summary>
        <div class={`field${form.errors.prices_json ? " has-error" : ""}`}>
          <textarea name="prices_json" placeholder='[{"type":"usage","meter_code":"TOKENS","model":"dimensional","dimension":"region","rates":{"us":"0.10"}}]'>
            {form.values.prices_json ?? ""}
          </textarea>
          {form.errors.prices_json ? (
            <span class="error" data-error-for="prices_json">
              {form.errors.prices_json}
            </span>
          ) : null}
        </div>
      </details>
    </>
  );
};

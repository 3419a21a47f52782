// Column builders every D1 table shares: the creation time and the test/live mode that scopes each row.
import { integer, text } from "drizzle-orm/sqlite-core";

export const createdAt = () => integer("created_at").notNull();
export const mode = () => text("mode", { enum: ["test", "live"] }).notNull();

/** How a person whose account no longer exists is named wherever they still appear (rosters, call history). */
export const FORMER_MEMBER_NAME = "Former member";

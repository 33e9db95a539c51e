// Two people sign up in two browser contexts, fill profiles with a shared interest, like each
// other, and chat in real time: typing, read receipts, an offline spell and a closed page (the
// missed messages arrive on return), and AI assist chips. Screenshots go to web/test-results/.
import { expect, test, type Page } from "@playwright/test";

import { DESKTOP, MOBILE, PASSWORD, expectNoRawJson, newPerson, screenshot, uniqueEmail } from "./helpers";

interface Person {
  name: string;
  birth: string;
  gender: "Woman" | "Man";
  seeking: "Women" | "Men";
  interests: string[];
}

async function signUp(page: Page, email: string): Promise<void> {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await page.getByRole("tab", { name: "Sign up" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { name: "Create your profile" })).toBeVisible();
}

async function fillProfile(page: Page, p: Person, shot?: string): Promise<void> {
  await page.getByLabel("Name").fill(p.name);
  await page.getByLabel("Birthday").fill(p.birth);
  await page.getByLabel(p.gender, { exact: true }).check();
  await page.getByLabel(p.seeking, { exact: true }).check();
  await page.getByLabel("Age from").fill("20");
  await page.getByLabel("to", { exact: true }).fill("45");
  await page.getByLabel("About me").fill(`Hi, I'm ${p.name}. Weekends are for music and long walks.`);
  await page.getByLabel("City").fill("Shanghai");
  const search = page.getByPlaceholder("Search interests");
  for (const interest of p.interests) {
    await search.fill(interest);
    await page.locator(".taxonomy").getByRole("button", { name: interest, exact: true }).first().click();
  }
  await search.fill("");
  await expect(page.getByText(`${p.interests.length} of 20`)).toBeVisible();
  if (shot) await screenshot(page, shot);
  await page.getByRole("button", { name: "Start meeting people" }).click();
  await expect(page).toHaveURL(/\/discover$/);
}

async function likeOnDiscover(page: Page, name: string, shot?: string): Promise<void> {
  // The page may have loaded before the other person existed.
  await page.getByRole("button", { name: "Refresh" }).click();
  const card = page.getByTestId("candidate");
  await expect(card.getByRole("heading", { name: new RegExp(name) })).toBeVisible();
  await expect(card.getByTestId("compatibility")).toContainText("You both like Jazz");
  if (shot) await screenshot(page, shot);
  await card.getByRole("button", { name: `Like ${name}` }).click();
}

async function openChatWith(page: Page, name: string, shot?: string): Promise<void> {
  const dialog = page.getByTestId("match-dialog");
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(`You and ${name} like each other.`);
  if (shot) await screenshot(page, shot);
  await dialog.getByRole("button", { name: "Say hi" }).click();
  await expect(page.getByTestId("chat").locator(".chat-peer-name")).toHaveText(name);
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole("textbox", { name: /Message to/ });
  await box.fill(text);
  await box.press("Enter");
  await expect(box).toHaveValue("");
}

function message(page: Page, text: string) {
  return page.getByTestId("message").filter({ hasText: text });
}

test("two people match and chat in real time (English)", async ({ browser }) => {
  const ann = await newPerson(browser, "en-US", DESKTOP);
  const ben = await newPerson(browser, "en-US", MOBILE);
  const a = ann.page;
  const b = ben.page;

  // Sign up and profiles with a shared interest (Jazz).
  await signUp(a, uniqueEmail("ann"));
  await expectNoRawJson(a);
  await fillProfile(a, { name: "Ann", birth: "1995-06-15", gender: "Woman", seeking: "Men", interests: ["Jazz", "Hiking"] }, "profile-en-1280");
  await signUp(b, uniqueEmail("ben"));
  await fillProfile(b, { name: "Ben", birth: "1993-02-01", gender: "Man", seeking: "Women", interests: ["Jazz", "Hotpot"] });

  // Like each other: both see the match.
  await likeOnDiscover(a, "Ben", "discover-en-1280");
  await likeOnDiscover(b, "Ann");
  await openChatWith(b, "Ann", "match-en-390");
  await openChatWith(a, "Ben");
  await expectNoRawJson(a);

  // Icebreakers for the new match.
  await expect(a.getByTestId("icebreaker")).toBeVisible();

  // Typing indicator, then the message, then read receipts back to the sender.
  const bBox = b.getByRole("textbox", { name: /Message to Ann/ });
  await bBox.pressSequentially("Hi Ann! A jazz fan too?", { delay: 15 });
  await expect(a.getByTestId("typing-indicator")).toBeVisible();
  await bBox.press("Enter");
  await expect(message(a, "Hi Ann! A jazz fan too?")).toBeVisible();
  await expect(a.getByTestId("typing-indicator")).toBeHidden();
  await expect(message(b, "Hi Ann! A jazz fan too?").getByTestId("message-status")).toHaveAttribute("data-status", "read");
  await expect(b.getByTestId("receipt-text")).toHaveText("Read");

  await send(a, "Yes! Have you been to the Blue Note?");
  await expect(message(b, "Blue Note")).toBeVisible();
  await expect(b.getByTestId("peer-status")).toHaveText("Online");

  // Ben goes offline: the banner shows, his send waits, and Ann's messages arrive on return.
  await ben.context.setOffline(true);
  await expect(b.getByTestId("connection-banner")).toBeVisible();
  await expect(b.getByTestId("connection-banner")).toContainText("You are offline");
  await send(b, "Written on the subway");
  await expect(message(b, "Written on the subway").getByTestId("message-status")).toHaveAttribute("data-status", "sending");
  await screenshot(b, "offline-en-390");
  await send(a, "They have a Friday jam session.");
  await send(a, "Want to go this week?");
  await expect(message(a, "Want to go this week?").getByTestId("message-status")).toHaveAttribute("data-status", "sent");
  await ben.context.setOffline(false);
  await expect(message(b, "Friday jam session")).toBeVisible({ timeout: 15_000 });
  await expect(message(b, "Want to go this week?")).toBeVisible();
  await expect(message(a, "Written on the subway")).toBeVisible();
  await expect(b.getByTestId("connection-banner")).toBeHidden();
  const seqs = await b.getByTestId("message").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-seq"))));
  expect(seqs).toEqual([...seqs].sort((x, y) => x - y));

  // Ben has read Ann's messages (his receipt reached her) before he closes the app; what she
  // sends meanwhile is his one unread message when he comes back. (Closing at once raced the
  // receipt, sent 150 ms after the messages show, and failed once under a loaded CI run.)
  await expect(message(a, "Want to go this week?").getByTestId("message-status")).toHaveAttribute("data-status", "read");
  await b.close();
  await send(a, "Sent while your app was closed");
  const b2 = await ben.context.newPage();
  await b2.goto("/chats");
  const row = b2.getByTestId("conversation-row").filter({ hasText: "Ann" });
  await expect(row).toContainText("Sent while your app was closed");
  await expect(row.getByTestId("unread-badge")).toHaveText("1");
  await expect(message(a, "Sent while your app was closed").getByTestId("message-status")).toHaveAttribute(
    "data-status",
    "delivered",
  );
  await row.click();
  await expect(message(b2, "Sent while your app was closed")).toBeVisible();
  await expect(message(a, "Sent while your app was closed").getByTestId("message-status")).toHaveAttribute("data-status", "read");

  // AI assist: suggestion chips fill the input; sent unchanged, the message is labelled.
  await a.getByRole("button", { name: "AI assist: suggest replies" }).click();
  const chips = a.getByTestId("suggestion-chip");
  await expect(chips).toHaveCount(3);
  const suggestion = (await chips.first().locator("span").nth(1).innerText()).trim();
  await chips.first().click();
  const aBox = a.getByRole("textbox", { name: /Message to Ben/ });
  await expect(aBox).toHaveValue(suggestion);
  await aBox.press("Enter");
  await expect(message(a, suggestion).getByTestId("ai-label")).toHaveText("AI-assisted");
  await expect(message(b2, suggestion)).toBeVisible();

  await expectNoRawJson(a);
  await expectNoRawJson(b2);
  await screenshot(a, "chat-en-1280");
  await b2.setViewportSize(MOBILE);
  await screenshot(b2, "chat-en-390");
  await a.setViewportSize(MOBILE);
  await screenshot(a, "chat-en-390-sender");

  // "Are you sure?": an insulting message needs confirmation; "Send anyway" resends it.
  await a.setViewportSize(DESKTOP);
  await send(a, "Oh screw you, that joke was terrible");
  const confirm = a.getByTestId("confirm-send");
  await expect(confirm.getByRole("heading", { name: "Are you sure?" })).toBeVisible();
  await expect(confirm).toContainText("It may come across as insulting");
  await expectNoRawJson(a);
  await screenshot(a, "confirm-en-1280");
  await confirm.getByRole("button", { name: "Send anyway" }).click();
  await expect(confirm).toBeHidden();
  await expect(message(a, "that joke was terrible").getByTestId("message-status")).not.toHaveAttribute("data-status", "confirm");
  await expect(message(b2, "that joke was terrible")).toBeVisible();
  await expect(b2.getByTestId("safety-banner")).toContainText("Does this bother you?", { timeout: 15_000 });
  await b2.getByTestId("safety-banner").getByRole("button", { name: "I'm fine" }).click();
  await expect(b2.getByTestId("safety-banner")).toBeHidden();

  await b2.goto("/chats");
  await expect(b2.getByTestId("conversation-row")).toHaveCount(1);
  await screenshot(b2, "chats-en-390");
  await b2.getByTestId("nav-settings").click();
  await expect(b2.getByRole("switch", { name: "Read receipts" })).toHaveAttribute("aria-checked", "true");
  await expectNoRawJson(b2);
  await screenshot(b2, "settings-en-390");
  await a.setViewportSize(DESKTOP);
  await a.getByTestId("nav-settings").click();
  await expect(a.getByRole("switch", { name: "Use the AI assistant" })).toBeVisible();
  await screenshot(a, "settings-en-1280");
  await a.getByTestId("nav-notifications").click();
  await expect(a.getByRole("heading", { name: "Notifications" })).toBeVisible();
  await expectNoRawJson(a);
  await screenshot(a, "notifications-en-1280");

  await ann.context.close();
  await ben.context.close();
});

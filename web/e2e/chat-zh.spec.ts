// The same product in Chinese: the browser prefers zh-CN, so the UI is Chinese without any
// setting. One person signs up in the UI, the other exists already and logs in; they match,
// chat with typing and read receipts, use AI 助手, and a risky message brings up the
// "这让你感到不舒服吗？" banner with report and block.
import { expect, test, type Page } from "@playwright/test";

import { DESKTOP, MOBILE, PASSWORD, api, expectNoRawJson, newPerson, screenshot, uniqueEmail } from "./helpers";

function message(page: Page, text: string) {
  return page.getByTestId("message").filter({ hasText: text });
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole("textbox", { name: /发给.*的消息/ });
  await box.fill(text);
  await box.press("Enter");
  await expect(box).toHaveValue("");
}

test("注册、配对、实时聊天与 AI 助手（中文界面）", async ({ browser }) => {
  const rest = api();
  const dong = await newPerson(browser, "zh-CN", MOBILE);
  const d = dong.page;

  // 注册：界面跟随浏览器语言显示中文。
  await d.goto("/signup");
  await expect(d.getByRole("tab", { name: "注册" })).toHaveAttribute("aria-selected", "true");
  await d.getByLabel("邮箱").fill(uniqueEmail("dong"));
  await d.getByLabel("密码", { exact: true }).fill(PASSWORD);
  await d.getByRole("button", { name: "创建账号" }).click();
  await expect(d.getByRole("heading", { name: "创建你的资料" })).toBeVisible();

  await d.getByLabel("昵称").fill("东东");
  await d.getByLabel("生日").fill("1976-05-05");
  await d.locator('input[name="gender"][value="man"]').check();
  await d.locator('input[name="seeking"][value="woman"]').check();
  await d.getByLabel("年龄从").fill("45");
  await d.getByLabel("到", { exact: true }).fill("55");
  await d.getByLabel("关于我").fill("喜欢爵士乐和火锅，周末常去看展。");
  await d.getByLabel("城市").fill("上海");
  await d.getByPlaceholder("搜索兴趣").fill("爵士");
  await d.locator(".taxonomy").getByRole("button", { name: "爵士乐", exact: true }).click();
  await d.getByPlaceholder("搜索兴趣").fill("火锅");
  await d.locator(".taxonomy").getByRole("button", { name: "火锅", exact: true }).click();
  await d.getByPlaceholder("搜索兴趣").fill("");
  await screenshot(d, "profile-zh-390");
  await d.getByRole("button", { name: "开始认识新朋友" }).click();
  await expect(d).toHaveURL(/\/discover$/);

  // 小林已经在 Rapport 上，并且喜欢了东东。
  const dongId = await d.evaluate(() => JSON.parse(localStorage.getItem("rapport.session") ?? "{}").userId as string);
  const linEmail = uniqueEmail("lin");
  const lin = await rest.register(linEmail, "zh-CN");
  await rest.profile(lin.token, {
    display_name: "小林",
    birth_date: "1977-01-01",
    gender: "woman",
    seeking: { genders: ["man"], age_min: 45, age_max: 55 },
    bio: "爵士乐爱好者，也爱吃火锅。",
    interests: ["music.jazz", "food_drink.hotpot", "travel.road_trips"],
    languages: ["zh"],
    city: "上海",
  });
  await rest.like(lin.token, dongId);

  // 发现页：卡片说明为什么合拍，喜欢后配对成功。
  await d.getByRole("button", { name: "刷新" }).click();
  const card = d.getByTestId("candidate");
  await expect(card.getByRole("heading", { name: /小林/ })).toBeVisible();
  await expect(card.getByTestId("compatibility")).toContainText("你们都喜欢");
  await expectNoRawJson(d);
  await screenshot(d, "discover-zh-390");
  await card.getByRole("button", { name: "喜欢小林" }).click();
  const dialog = d.getByTestId("match-dialog");
  await expect(dialog.getByRole("heading", { name: "配对成功！" })).toBeVisible();
  await screenshot(d, "match-zh-390");
  await dialog.getByRole("button", { name: "打个招呼" }).click();
  await expect(d.getByTestId("chat").locator(".chat-peer-name")).toHaveText("小林");
  await expect(d.getByTestId("icebreaker")).toBeVisible();

  // 小林在电脑上登录。
  const linCtx = await newPerson(browser, "zh-CN", DESKTOP);
  const l = linCtx.page;
  await l.goto("/");
  await expect(l.getByRole("tab", { name: "登录" })).toHaveAttribute("aria-selected", "true");
  await l.getByLabel("邮箱").fill(linEmail);
  await l.getByLabel("密码", { exact: true }).fill(PASSWORD);
  await l.getByRole("button", { name: "登录", exact: true }).last().click();
  await expect(l).toHaveURL(/\/discover$/);
  await l.getByTestId("nav-chats").click();
  await expect(l.getByRole("heading", { name: "新配对" })).toBeVisible();
  await screenshot(l, "chats-zh-1280");
  await l.getByRole("link", { name: /东东/ }).first().click();
  await expect(l.getByTestId("chat").locator(".chat-peer-name")).toHaveText("东东");

  // 输入中、消息、已读。
  const box = d.getByRole("textbox", { name: "发给小林的消息" });
  await box.pressSequentially("你好小林！你也喜欢爵士乐？", { delay: 20 });
  await expect(l.getByTestId("typing-indicator")).toBeVisible();
  await expect(l.getByTestId("peer-status")).toHaveText("正在输入…");
  await box.press("Enter");
  await expect(message(l, "你好小林！你也喜欢爵士乐？")).toBeVisible();
  await expect(message(d, "你好小林！你也喜欢爵士乐？").getByTestId("message-status")).toHaveAttribute("data-status", "read");
  await expect(d.getByTestId("receipt-text")).toHaveText("已读");

  await send(l, "是呀！周末一起去听现场吗？");
  await expect(message(d, "周末一起去听现场")).toBeVisible();

  // AI 助手：推荐回复填入输入框，原样发送会标注“AI 辅助”。
  await l.getByRole("button", { name: "AI 助手：推荐回复" }).click();
  const chips = l.getByTestId("suggestion-chip");
  await expect(chips).toHaveCount(3);
  const suggestion = (await chips.nth(1).locator("span").nth(1).innerText()).trim();
  await chips.nth(1).click();
  await expect(l.getByRole("textbox", { name: "发给东东的消息" })).toHaveValue(suggestion);
  await l.getByRole("textbox", { name: "发给东东的消息" }).press("Enter");
  await expect(message(l, suggestion).getByTestId("ai-label")).toHaveText("AI 辅助");
  await expect(message(d, suggestion)).toBeVisible();
  await send(d, "好啊，周六晚上怎么样？");
  await expect(message(l, "周六晚上怎么样")).toBeVisible();

  await expectNoRawJson(l);
  await expectNoRawJson(d);
  await screenshot(l, "chat-zh-1280");
  await screenshot(d, "chat-zh-390");
  await l.setViewportSize(MOBILE);
  await screenshot(l, "chat-zh-390-sender");
  await l.setViewportSize(DESKTOP);

  // 可能有风险的消息：收件人看到“这让你感到不舒服吗？”，可以举报并拉黑。
  await send(l, "加我微信吧，再转账五百块给我");
  const banner = d.getByTestId("safety-banner");
  await expect(banner).toBeVisible({ timeout: 15_000 });
  await expect(banner).toContainText("这让你感到不舒服吗？");
  await expect(l.getByTestId("safety-banner")).toHaveCount(0);
  await screenshot(d, "safety-zh-390");
  await banner.getByRole("button", { name: "举报" }).click();
  const report = d.getByTestId("report-dialog");
  await expect(report).toBeVisible();
  await screenshot(d, "report-zh-390");
  await report.getByRole("button", { name: "提交举报" }).click();
  await expect(d.getByText("谢谢你的举报，我们的团队会尽快处理。")).toBeVisible();
  await expect(d).toHaveURL(/\/chats$/);
  await expect(l.getByText("这个会话已关闭。")).toBeVisible();
  await expectNoRawJson(d);

  await dong.context.close();
  await linCtx.context.close();
});

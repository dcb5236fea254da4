"""Every user-facing sentence of the mail package (Chinese), worded where → what → how to fix."""

BAD_ONLY = "--only 的值「{only}」无效：应为 {choices} 之一。"
BAD_OPTION_ADDRESS = "{what} 中的邮箱地址「{addr}」无效：请写成 name@example.gov.cn 的形式。"
TEMPLATE_DIR_MISSING = "邮件模板文件夹不存在：{folder}。请检查 --templates 或配置文件中的 templates。"
TEMPLATE_UNREADABLE = "邮件模板 {name} 无法读取（{error}）：请用 UTF-8 编码保存。"
TEMPLATE_NO_SUBJECT = "邮件模板 {name} 的第一行应为「主题：……」：请在第一行写邮件主题。"
TEMPLATE_BAD_PLACEHOLDER = ("邮件模板 {name} 中有无法识别的占位符 {names}：可用的占位符为 {allowed}；"
                            "要写美元符号本身请写 $$。")

PROBLEM_NO_ADDRESS = "无收件地址"
PROBLEM_BAD_ADDRESS = "收件地址无效：{addr}"
PROBLEM_NO_TEMPLATE = "空白模板生成失败（{error}）"
PROBLEM_NO_SUMMARY = "汇总表 {name} 不存在，请重新运行 xltools consolidate"

NOTE_ANNOTATED = "附件是贵单位报表的批注副本，有问题的单元格已标出并附批注说明。"
NOTE_BLANK = "附件是空白报表模板（已预填单位名称和年度）。"
NO_NOTE = "文件格式无法识别或已损坏。"
NO_FINDINGS = "（无具体问题条目）"
MORE_FINDINGS = "……另有 {n} 条，请见附件中的批注。"

SENT = "已发送"
SKIPPED = "已发送过，跳过"
FAILED = "发送失败"
NOT_SENT = "未发送"
WRITTEN = "已写入发件箱"
WOULD_SKIP = "已写入发件箱（此前已发送，--send 时跳过）"

REFUSED = "收件人被拒绝：{detail}"
PARTLY_REFUSED = "已发送，但以下收件人被拒绝：{detail}"
SERVER_ERROR = "服务器拒绝（{code} {text}）"
CONNECTION_LOST = "与服务器的连接中断（{error}）"
NOT_TRIED = "未能连接服务器，未尝试发送"
AFTER_ATTEMPTS = "{detail}；已尝试 {n} 次"

AUTH_FAILED = "SMTP 登录失败（{code} {text}）：请检查 XLTOOLS_SMTP_USER 和 XLTOOLS_SMTP_PASSWORD。"
AUTH_UNSUPPORTED = "SMTP 服务器 {host} 不支持登录（AUTH）：请检查加密方式（XLTOOLS_SMTP_SECURITY）和端口。"
NO_STARTTLS = "SMTP 服务器 {host}:{port} 不支持 STARTTLS：请改用 ssl（通常为 465 端口）。"
CERT_FAILED = ("无法验证 SMTP 服务器 {host} 的证书（{error}）：如服务器使用自签名或单位内部 CA 证书，"
               "请用 XLTOOLS_SMTP_CA_FILE 或配置文件 [smtp] ca_file 指定该 CA 证书文件。")

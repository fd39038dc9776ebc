export const marker = "from-source"
